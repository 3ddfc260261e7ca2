"""Work of concurrent requests that can share one round trip: dispatches and status reads.

Dispatches of submits that commit in the same event-loop turn share one broker call. (The submit
statements of one loop turn share one statement too: ``jobs/store/pgsubmit.py``.)

Under load many submits' statements answer together (one ``epoll`` wake-up delivers several
PostgreSQL replies); each used to send its own XADD (or lane script) to Redis, and on a small VM a
socket write is a good part of a request's CPU. :func:`dispatch_soon` queues the job and, at the
end of the current loop turn, one :meth:`~conjure.jobs.broker.Broker.dispatch` call sends every job
queued meanwhile. Each caller still returns only once its job was handed to the broker (the 202 is
sent after the dispatch, as before), and a lone submit waits one loop turn, not a timer.

Status reads (:func:`view_soon`, the polls) made in the same loop turn on PostgreSQL are one
``id = ANY(...)`` statement on one pooled connection instead of one statement and one checkout
each; each caller gets only its own job (the owner is compared here, as the one-row statement's
``user_id = $2`` did). SQLite reads one row at a time, as before.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from typing import TYPE_CHECKING

from conjure.jobs.models import JobSnapshot
from conjure.jobs.store.common import SNAPSHOT_COLUMNS
from conjure.jobs.store.pick import store_for
from conjure.jobs.store.postgres import PostgresJobStore

if TYPE_CHECKING:
    from conjure.db import Database
    from conjure.jobs.broker import Broker
    from conjure.jobs.lanes import Lane

VIEW_MANY = f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM jobs WHERE id = ANY($1::uuid[])"


class _Batch:
    """The jobs queued for one broker in the current loop turn, and who waits for them."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.job_ids: list[uuid.UUID] = []
        self.lanes: list[Lane | None] = []
        self.sent: asyncio.Future[None] | None = None

    def add(self, job_id: uuid.UUID, lane: Lane | None) -> asyncio.Future[None]:
        if self.sent is None:
            loop = asyncio.get_running_loop()
            self.sent = loop.create_future()
            # After the callbacks already due this turn: the submits woken with this one join it.
            loop.call_soon(self._flush)
        self.job_ids.append(job_id)
        self.lanes.append(lane)
        return self.sent

    def _flush(self) -> None:
        job_ids, lanes, sent = self.job_ids, self.lanes, self.sent
        self.job_ids, self.lanes, self.sent = [], [], None
        assert sent is not None
        task = asyncio.get_running_loop().create_task(self._send(job_ids, lanes, sent))
        _SENDING.add(task)
        task.add_done_callback(_SENDING.discard)

    async def _send(
        self, job_ids: list[uuid.UUID], lanes: list[Lane | None], sent: asyncio.Future[None]
    ) -> None:
        try:
            await self.broker.dispatch(job_ids, lanes)
        except Exception as exc:
            if not sent.done():
                sent.set_exception(exc)
        else:
            if not sent.done():
                sent.set_result(None)


_BATCHES: weakref.WeakKeyDictionary[Broker, _Batch] = weakref.WeakKeyDictionary()
_SENDING: set[asyncio.Task[None]] = set()  # strong references while a send is under way


async def dispatch_soon(broker: Broker, job_id: uuid.UUID, lane: Lane | None) -> None:
    """Dispatch one job together with the others submitted in this loop turn; returns once sent
    (raises what the broker raised, for every job of the call)."""
    batch = _BATCHES.get(broker)
    if batch is None:
        batch = _BATCHES[broker] = _Batch(broker)
    # Shielded: a caller that goes away does not cancel the others' dispatch.
    await asyncio.shield(batch.add(job_id, lane))


_Read = asyncio.Future[dict[uuid.UUID, JobSnapshot]]  # the rows of one read, by job id


class _Views:
    """The job ids whose status was asked for in the current loop turn, on one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.job_ids: list[uuid.UUID] = []
        self.read: _Read | None = None

    def add(self, job_id: uuid.UUID) -> _Read:
        if self.read is None:
            loop = asyncio.get_running_loop()
            self.read = loop.create_future()
            loop.call_soon(self._flush)
        self.job_ids.append(job_id)
        return self.read

    def _flush(self) -> None:
        job_ids, read = self.job_ids, self.read
        self.job_ids, self.read = [], None
        assert read is not None
        task = asyncio.get_running_loop().create_task(self._fetch(job_ids, read))
        _SENDING.add(task)
        task.add_done_callback(_SENDING.discard)

    async def _fetch(self, job_ids: list[uuid.UUID], read: _Read) -> None:
        try:
            async with self.db.driver_connection() as conn:
                rows = await conn.fetch(VIEW_MANY, list(dict.fromkeys(job_ids)))
        except Exception as exc:
            if not read.done():
                read.set_exception(exc)
        else:
            if not read.done():
                read.set_result({row[0]: JobSnapshot(*row) for row in rows})


_VIEWS: weakref.WeakKeyDictionary[Database, _Views] = weakref.WeakKeyDictionary()


async def view_soon(db: Database, job_id: uuid.UUID, user_id: uuid.UUID) -> JobSnapshot | None:
    """``user_id``'s job ``job_id`` for reading (None if there is none of theirs), read together
    with the other status reads of this loop turn on PostgreSQL."""
    store = store_for(db)
    if not isinstance(store, PostgresJobStore):
        return await store.view(job_id, user_id)
    views = _VIEWS.get(db)
    if views is None:
        views = _VIEWS[db] = _Views(db)
    job = (await asyncio.shield(views.add(job_id))).get(job_id)
    return job if job is not None and job.user_id == user_id else None
