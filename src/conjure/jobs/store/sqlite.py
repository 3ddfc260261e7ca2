"""The SQLite job store (``conjure up``, embedded): each transition through SQLAlchemy Core in one
transaction; SQLite serializes writers, so a batch is written row by row inside its one transaction.
Each statement is a hand-off to aiosqlite's thread and back (0.3-0.5 ms on a busy 2-core box: a
lone job's submit, claim and settle are about 10 ms of the embedded latency, docs/bench.md), which
is the newcomer's default and not worth a second, hand-written copy of every transition's SQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from conjure.errors import NotFound
from conjure.jobs.attempt import ClaimedRow, ClaimKey, ProgressStep, Settlement
from conjure.jobs.models import ATTEMPTS, EVENTS, JOBS, JobSnapshot, JobStatus
from conjure.jobs.store.base import SettleEffects, Submitted
from conjure.jobs.store.common import QUEUED_DATA, SNAPSHOT_COLUMNS, claim_update, held_insert
from conjure.wallet.service import hold_stars, lock_user

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from conjure.db import Database


def _guard(job_id: uuid.UUID, attempt: int, worker_id: str) -> tuple[Any, ...]:
    """The claim guard: every write after the claim happens only while it still holds."""
    return (
        JOBS.c.id == job_id,
        JOBS.c.status == JobStatus.PROCESSING,
        JOBS.c.attempts == attempt,
        JOBS.c.worker_id == worker_id,
    )


async def _insert_job(session: AsyncSession, values: dict[str, Any]) -> bool:
    """The job and its ``queued`` event; False when a unique key (dedupe, Idempotency-Key) exists."""
    inserted = await session.execute(
        sqlite_insert(JOBS).values(**values).on_conflict_do_nothing().returning(JOBS.c.id)
    )
    if inserted.first() is None:
        return False
    event = {"job_id": values["id"], "seq": 1, "type": "queued", "created_at": values["created_at"]}
    await session.execute(insert(EVENTS).values(**event, data=QUEUED_DATA))
    return True


class SqliteJobStore:
    """:class:`conjure.jobs.store.base.JobStore` on SQLite (aiosqlite)."""

    separate_plain_settles = False

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_queued(self, values: dict[str, Any]) -> Submitted:
        price = values["price_stars"]
        async with self.db.session() as session:
            try:
                payer = await lock_user(session, values["user_id"])
            except NotFound:
                return Submitted(None, False)
            available = payer.star_balance - payer.stars_held
            if available < price:
                return Submitted(available, False)
            inserted = await _insert_job(session, values)
            if inserted and price > 0:
                await hold_stars(session, payer.id, price, job_id=values["id"])
        return Submitted(available, inserted)

    async def insert_queued_in(self, session: AsyncSession, values: dict[str, Any]) -> bool:
        return await held_insert(session, values, _insert_job)

    async def view(self, job_id: uuid.UUID, user_id: uuid.UUID) -> JobSnapshot | None:
        query = select(*(JOBS.c[name] for name in SNAPSHOT_COLUMNS)).where(
            JOBS.c.id == job_id, JOBS.c.user_id == user_id
        )
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return JobSnapshot(*row) if row is not None else None

    async def claim(
        self, job_ids: Sequence[uuid.UUID], *, worker_id: str, now: dt.datetime, lease: dt.datetime
    ) -> list[ClaimedRow]:
        params = {"c_ids": list(job_ids), "c_now": now, "c_lease": lease, "c_worker": worker_id}
        async with self.db.session() as session:
            rows = [ClaimedRow(*row) for row in (await session.execute(claim_update(), params)).all()]
            if not rows:
                return rows
            retried = [row.id for row in rows if row.attempts > 1]
            if retried:
                # An attempt left open here belonged to a worker that died: close it.
                await session.execute(
                    update(ATTEMPTS)
                    .where(ATTEMPTS.c.job_id.in_(retried), ATTEMPTS.c.finished_at.is_(None))
                    .values(finished_at=now, success=False, error_code="lease_expired", error="Worker lost.")
                )
            await session.execute(
                insert(ATTEMPTS),
                [
                    {
                        "id": uuid.uuid4(),
                        "job_id": row.id,
                        "attempt_number": row.attempts,
                        "worker_id": worker_id,
                        "started_at": now,
                    }
                    for row in rows
                ],
            )
            await session.execute(
                insert(EVENTS),
                [
                    {
                        "job_id": row.id,
                        "seq": row.event_seq,
                        "type": "processing",
                        "data": {"status": "processing", "attempt": row.attempts},
                        "created_at": now,
                    }
                    for row in rows
                ],
            )
        return rows

    async def record_progress(
        self, steps: Sequence[ProgressStep], *, worker_id: str, now: dt.datetime
    ) -> dict[ClaimKey, tuple[int, bool]]:
        out: dict[ClaimKey, tuple[int, bool]] = {}
        async with self.db.session() as session:
            for step in steps:
                claim = step.claim
                guarded = (
                    update(JOBS)
                    .where(*_guard(claim.job_id, claim.attempt, worker_id))
                    .values(progress=step.progress, event_seq=JOBS.c.event_seq + 1, updated_at=now)
                    .returning(JOBS.c.event_seq, JOBS.c.cancel_requested)
                )
                row = (await session.execute(guarded)).first()
                if row is None:
                    continue
                event = {"job_id": claim.job_id, "seq": row[0], "type": "progress", "data": step.data}
                await session.execute(insert(EVENTS).values(**event, created_at=now))
                out[claim.key] = (int(row[0]), bool(row[1]))
        return out

    async def settle(
        self,
        batch: Sequence[Settlement],
        *,
        worker_id: str,
        now: dt.datetime,
        effects: SettleEffects | None,
        skipped: set[ClaimKey] | None = None,
    ) -> dict[ClaimKey, int]:
        # ``skipped`` needs no handling: SQLite's one writer means no payer's row is held by another.
        seqs: dict[ClaimKey, int] = {}
        async with self.db.session() as session:
            for s in batch:
                seq = await self._write_settlement(session, s, worker_id, now)
                if seq is not None:
                    seqs[s.claim.key] = seq
            if effects is not None:
                await effects(session, [s for s in batch if s.claim.key in seqs])
        return seqs

    @staticmethod
    async def _write_settlement(
        session: AsyncSession, settled: Settlement, worker_id: str, now: dt.datetime
    ) -> int | None:
        """Job row + attempt row + event under the claim guard; the new event seq, or None."""
        claim = settled.claim
        values = {**settled.values, "event_seq": JOBS.c.event_seq + 1}
        guarded = update(JOBS).where(*_guard(claim.job_id, claim.attempt, worker_id)).values(**values)
        row = (await session.execute(guarded.returning(JOBS.c.event_seq))).first()
        if row is None:
            return None
        await session.execute(
            update(ATTEMPTS)
            .where(ATTEMPTS.c.job_id == claim.job_id, ATTEMPTS.c.attempt_number == claim.attempt)
            .values(**settled.attempt)
        )
        event = {"job_id": claim.job_id, "seq": row[0], "type": settled.status, "data": settled.data}
        await session.execute(insert(EVENTS).values(**event, created_at=now))
        return int(row[0])
