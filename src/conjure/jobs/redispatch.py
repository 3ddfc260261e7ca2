"""Re-dispatch through the lanes: a job going back to the queue keeps its stored class and lane.

A job's class and lane (``jobs.priority``, ``jobs.lane``; its payer is its user unless ``lane``
names another) are written at submit. Every path that dispatches it again (a retry leaving the
delayed set, the reconciler, a callback resuming a parked job, a resumed job kind, a DLQ
re-drive) reads them back, so a re-dispatch never skips the queue past other payers
(:mod:`conjure.jobs.lanes`). The reconciler and the re-drive read them in the statement that
takes the jobs (:data:`LANE_COLUMNS`); other paths dispatch without lanes and the broker asks
:class:`StoredLanes`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from conjure.jobs.lanes import Lane, Priority, payer_lane
from conjure.jobs.models import JOBS

if TYPE_CHECKING:
    from conjure.db import Database

# What a re-dispatch needs of a job row: id first, then what decides its lane.
LANE_COLUMNS = (JOBS.c.id, JOBS.c.user_id, JOBS.c.lane, JOBS.c.priority)


def stored_lane(user_id: uuid.UUID | None, lane: str | None, priority: int | None) -> Lane | None:
    """The lane a stored job is dispatched in (None: a system job, straight to the ready queue)."""
    return payer_lane(user_id, lane, Priority.NORMAL if priority is None else priority)


def lanes_of_rows(rows: Iterable[Any]) -> tuple[list[uuid.UUID], list[Lane | None]]:
    """Ids and lanes of rows read with :data:`LANE_COLUMNS`, in the rows' order."""
    ids: list[uuid.UUID] = []
    lanes: list[Lane | None] = []
    for job_id, user_id, lane, priority in rows:
        ids.append(job_id)
        lanes.append(stored_lane(user_id, lane, priority))
    return ids, lanes


class StoredLanes:
    """The brokers' :data:`conjure.jobs.lanes.LaneLookup`: each job's stored lane, in one query."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, job_ids: Sequence[uuid.UUID]) -> list[Lane | None]:
        if not job_ids:
            return []
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(select(*LANE_COLUMNS).where(JOBS.c.id.in_(list(job_ids))))).all()
        found = dict(zip(*lanes_of_rows(rows), strict=True))
        return [found.get(job_id) for job_id in job_ids]
