"""The PostgreSQL job store: each transition is one statement where that is what makes it fast.

A viral spike is mostly "submit" and "poll". Through the ORM a submit took ten round trips
(BEGIN, lock the payer, insert the job, check the hold key, update the balance, append the
ledger row, …, COMMIT) and a poll four; here each is one statement on a pooled asyncpg
connection in autocommit, so it is also one transaction: all of it happens or none does; the
submits of one event-loop turn share one statement (``jobs/store/pgsubmit.py``).
The worker's claim, progress and settle statements write a whole batch of jobs (group commit,
``conjure.jobs.runner``): one array per column, each row under its own claim guard.
docs/bench.md has the before/after figures.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import String, bindparam, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from conjure.db import JSONType, UTCDateTime
from conjure.jobs.attempt import ClaimedRow, ClaimKey, ProgressStep, Settlement
from conjure.jobs.models import ATTEMPTS, EVENTS, JOBS, JobSnapshot
from conjure.jobs.store.base import SettleEffects, Submitted
from conjure.jobs.store.common import QUEUED_DATA, SNAPSHOT_COLUMNS, claim_update, held_insert
from conjure.jobs.store.pgsubmit import submit_soon
from conjure.observability.metrics import WALLET_TRANSACTIONS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from conjure.db import Database

log = structlog.get_logger("conjure.jobs.store.postgres")
# How long a priced or hooked settle waits for a row lock (a payer's row held by a slow request)
# before it fails and its jobs are settled on their own (PostgreSQL ``lock_timeout``).
LOCK_TIMEOUT_MS = 5000

VIEW = f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM jobs WHERE id = $1 AND user_id = $2"


class DriverStatement:
    """A SQLAlchemy statement compiled once for asyncpg: its SQL text and the order of its
    ``$n`` parameters, so the hot transitions run on the pooled driver connection with none of
    SQLAlchemy's per-execution work (about a third of a claim's or settle's worker CPU) and
    asyncpg's prepared-statement cache keyed by one fixed text."""

    def __init__(self, statement: Any) -> None:
        compiled = statement.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
        self.sql = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self.defaults: dict[str, Any] = dict(compiled.params)

    def args(self, params: dict[str, Any]) -> list[Any]:
        return [params[name] if name in params else self.defaults[name] for name in self.names]

    async def fetch(self, db: Database, params: dict[str, Any]) -> list[Any]:
        """Run it as its own transaction (one statement: no BEGIN/COMMIT round trips)."""
        async with db.driver_connection() as conn:
            rows: list[Any] = await conn.fetch(self.sql, *self.args(params))
        return rows


@lru_cache(maxsize=1)
def claim_statement() -> Any:
    """The claim plus closing lost attempts, opening new ones and ``processing`` events."""
    claimed = claim_update(array=True).cte("claimed")
    now_param = bindparam("c_now", type_=JOBS.c.updated_at.type)
    # CTE parts see the table as it was before the statement, so this only closes old attempts.
    lost = (
        update(ATTEMPTS)
        .where(
            ATTEMPTS.c.job_id.in_(select(claimed.c.id).where(claimed.c.attempts > 1)),
            ATTEMPTS.c.finished_at.is_(None),
        )
        .values(finished_at=now_param, success=False, error_code="lease_expired", error="Worker lost.")
        .returning(ATTEMPTS.c.id)
        .cte("lost")
    )
    opened = (
        insert(ATTEMPTS)
        .from_select(
            ["id", "job_id", "attempt_number", "worker_id", "started_at"],
            select(
                func.gen_random_uuid(),
                claimed.c.id,
                claimed.c.attempts,
                bindparam("c_worker", type_=ATTEMPTS.c.worker_id.type),
                now_param,
            ),
        )
        .returning(ATTEMPTS.c.id)
        .cte("opened")
    )
    events = (
        insert(EVENTS)
        .from_select(
            ["job_id", "seq", "type", "data", "created_at"],
            select(
                claimed.c.id,
                claimed.c.event_seq,
                literal("processing", String()),
                func.jsonb_build_object(
                    literal("status", String()),
                    literal("processing", String()),
                    literal("attempt", String()),
                    claimed.c.attempts,
                ),
                now_param,
            ),
        )
        .returning(EVENTS.c.id)
        .cte("events")
    )
    return select(claimed).add_cte(lost, opened, events)


# Settle a batch of attempts (PostgreSQL): one array per column, one element per attempt.
# Each job row is written only while its claim holds (processing, same attempt, this worker);
# its attempt row and its event only for the rows that were. A retry goes back to queued with
# its run_at and no worker; a terminal status frees the dedupe key and stamps finished_at.
# ``usage`` is the job's total over its attempts (``Settler.prepare`` adds this attempt's to the
# total it claimed), ``attempt_usage`` this attempt's own.
# JSON travels as text and is cast here, so asyncpg needs no per-element codec.
SETTLE_BATCH = text(
    """
WITH input AS (
    SELECT * FROM unnest(
        CAST(:ids AS uuid[]), CAST(:attempts AS int[]), CAST(:statuses AS text[]),
        CAST(:results AS text[]), CAST(:usages AS text[]), CAST(:codes AS text[]),
        CAST(:messages AS text[]), CAST(:run_ats AS timestamptz[]), CAST(:event_types AS text[]),
        CAST(:event_data AS text[]), CAST(:successes AS boolean[]), CAST(:times_ms AS int[]),
        CAST(:attempt_usages AS text[])
    ) AS i(id, attempt, status, result, usage, code, message, run_at, event_type, event_data,
           success, time_ms, attempt_usage)
), job AS (
    UPDATE jobs AS j SET
        status = i.status,
        updated_at = :now,
        event_seq = j.event_seq + 1,
        lease_expires_at = NULL,
        usage = COALESCE(CAST(i.usage AS jsonb), j.usage),
        result = CASE WHEN i.status = 'succeeded' THEN CAST(i.result AS jsonb) ELSE j.result END,
        error_code = i.code,
        last_error = i.message,
        run_at = COALESCE(i.run_at, j.run_at),
        worker_id = CASE WHEN i.status = 'queued' THEN NULL ELSE j.worker_id END,
        finished_at = CASE WHEN i.status = 'queued' THEN j.finished_at ELSE :now END,
        dedupe_key = CASE WHEN i.status = 'queued' THEN j.dedupe_key ELSE NULL END
    FROM input AS i
    WHERE j.id = i.id AND j.status = 'processing' AND j.attempts = i.attempt AND j.worker_id = :worker
    RETURNING j.id, j.attempts, j.event_seq
), attempt AS (
    UPDATE job_attempts AS a SET
        finished_at = :now, success = i.success, error = i.message, error_code = i.code,
        processing_time_ms = i.time_ms, usage = CAST(i.attempt_usage AS jsonb)
    FROM input AS i JOIN job ON job.id = i.id AND job.attempts = i.attempt
    WHERE a.job_id = i.id AND a.attempt_number = i.attempt
    RETURNING a.id
), event AS (
    INSERT INTO job_events (job_id, seq, type, data, created_at)
    SELECT job.id, job.event_seq, i.event_type, CAST(i.event_data AS jsonb), :now
    FROM job JOIN input AS i ON i.id = job.id AND i.attempt = job.attempts
    RETURNING job_events.id
)
SELECT id, attempts, event_seq FROM job
"""
)

# Record a batch of progress steps (PostgreSQL), each under its claim guard: the job's
# progress and next event seq, and the event row; returns whether a cancel was requested.
# At most one step per job in a batch (the caller splits the rest into the next statement).
PROGRESS_BATCH = text(
    """
WITH input AS (
    SELECT * FROM unnest(
        CAST(:ids AS uuid[]), CAST(:attempts AS int[]), CAST(:progress AS text[]),
        CAST(:event_data AS text[])
    ) AS i(id, attempt, progress, event_data)
), job AS (
    UPDATE jobs AS j SET
        progress = CAST(i.progress AS jsonb), event_seq = j.event_seq + 1, updated_at = :now
    FROM input AS i
    WHERE j.id = i.id AND j.status = 'processing' AND j.attempts = i.attempt AND j.worker_id = :worker
    RETURNING j.id, j.attempts, j.event_seq, j.cancel_requested
), event AS (
    INSERT INTO job_events (job_id, seq, type, data, created_at)
    SELECT job.id, job.event_seq, 'progress', CAST(i.event_data AS jsonb), :now
    FROM job JOIN input AS i ON i.id = job.id AND i.attempt = job.attempts
    RETURNING job_events.id
)
SELECT id, attempts, event_seq, cancel_requested FROM job
"""
)


@lru_cache(maxsize=1)
def driver_statements() -> tuple[DriverStatement, DriverStatement, DriverStatement]:
    """Claim, settle and progress, compiled for the driver once per process."""
    return DriverStatement(claim_statement()), DriverStatement(SETTLE_BATCH), DriverStatement(PROGRESS_BATCH)


# Lock the payers of a settle batch that are free right now (PostgreSQL), in id order; the jobs
# of a payer whose row someone else holds are settled on their own instead of stalling the batch.
LOCK_PAYERS = text(
    "SELECT id FROM users WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE SKIP LOCKED"
)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _settle_params(batch: Sequence[Settlement], worker_id: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "ids": [s.claim.job_id for s in batch],
        "attempts": [s.claim.attempt for s in batch],
        "statuses": [str(s.values["status"]) for s in batch],
        "results": [_json(s.outcome.result) if s.success else None for s in batch],
        "usages": [_json(s.values.get("usage")) for s in batch],
        "codes": [s.values["error_code"] for s in batch],
        "messages": [s.values["last_error"] for s in batch],
        "run_ats": [s.values.get("run_at") for s in batch],
        "event_types": [str(s.status) for s in batch],
        "event_data": [json.dumps(s.data) for s in batch],
        "successes": [s.success for s in batch],
        "times_ms": [s.attempt["processing_time_ms"] for s in batch],
        "attempt_usages": [_json(s.attempt.get("usage")) for s in batch],
        "now": now,
        "worker": worker_id,
    }


async def _insert_job(session: AsyncSession, values: dict[str, Any]) -> bool:
    """The job and its ``queued`` event in one statement (a data-modifying CTE)."""
    job = pg_insert(JOBS).values(**values).on_conflict_do_nothing().returning(JOBS.c.id).cte("job")
    event = insert(EVENTS).from_select(
        ["job_id", "seq", "type", "created_at", "data"],
        select(
            job.c.id,
            literal(1),
            literal("queued", String()),
            literal(values["created_at"], UTCDateTime()),
            literal(QUEUED_DATA, JSONType),
        ),
    )
    result = await session.execute(event.returning(EVENTS.c.job_id).add_cte(job))
    return result.first() is not None


class PostgresJobStore:
    """:class:`conjure.jobs.store.base.JobStore` on PostgreSQL (asyncpg)."""

    separate_plain_settles = True

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_queued(self, values: dict[str, Any]) -> Submitted:
        # One statement with the other submits of this loop turn (``pgsubmit``): committed on
        # return; 40001/40P01 run it again as it was, so a retry never writes twice.
        submitted = await submit_soon(self.db, values)
        if submitted.inserted and values["price_stars"] > 0:
            WALLET_TRANSACTIONS.labels("hold", "star").inc()
        return submitted

    async def insert_queued_in(self, session: AsyncSession, values: dict[str, Any]) -> bool:
        return await held_insert(session, values, _insert_job)

    async def view(self, job_id: uuid.UUID, user_id: uuid.UUID) -> JobSnapshot | None:
        async with self.db.driver_connection() as conn:
            row = await conn.fetchrow(VIEW, job_id, user_id)
        return JobSnapshot(*row) if row is not None else None

    async def claim(
        self, job_ids: Sequence[uuid.UUID], *, worker_id: str, now: dt.datetime, lease: dt.datetime
    ) -> list[ClaimedRow]:
        params = {"c_ids": list(job_ids), "c_now": now, "c_lease": lease, "c_worker": worker_id}
        # One statement (claims, attempt rows, events) is its own transaction: no BEGIN/COMMIT.
        rows = await driver_statements()[0].fetch(self.db, params)
        return [ClaimedRow(*row) for row in rows]

    async def record_progress(
        self, steps: Sequence[ProgressStep], *, worker_id: str, now: dt.datetime
    ) -> dict[ClaimKey, tuple[int, bool]]:
        params = {
            "ids": [step.claim.job_id for step in steps],
            "attempts": [step.claim.attempt for step in steps],
            "progress": [step.texts[0] for step in steps],
            "event_data": [step.texts[1] for step in steps],
            "now": now,
            "worker": worker_id,
        }
        rows = await driver_statements()[2].fetch(self.db, params)
        return {(row[0], row[1]): (int(row[2]), bool(row[3])) for row in rows}

    async def settle(
        self,
        batch: Sequence[Settlement],
        *,
        worker_id: str,
        now: dt.datetime,
        effects: SettleEffects | None,
        skipped: set[ClaimKey] | None = None,
    ) -> dict[ClaimKey, int]:
        if effects is None:
            # No money, no hooks: the one statement is the whole transaction.
            written = await driver_statements()[1].fetch(self.db, _settle_params(batch, worker_id, now))
            return {(row[0], row[1]): int(row[2]) for row in written}
        async with self.db.session() as session:
            await session.execute(text(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}"))
            if skipped is not None:
                batch = await self._lock_payers(session, batch, skipped)
                if not batch:
                    return {}
            rows = await session.execute(SETTLE_BATCH, _settle_params(batch, worker_id, now))
            seqs = {(row[0], row[1]): int(row[2]) for row in rows}
            await effects(session, [s for s in batch if s.claim.key in seqs])
        return seqs

    @staticmethod
    async def _lock_payers(
        session: AsyncSession, batch: Sequence[Settlement], skipped: set[ClaimKey]
    ) -> list[Settlement]:
        """Lock the batch's payers that are free now; the jobs of the others go to ``skipped``."""
        payers = {s.claim.user_id for s in batch if s.pays}
        if not payers:
            return list(batch)
        locked = set((await session.execute(LOCK_PAYERS, {"ids": list(payers)})).scalars())
        for s in batch:
            if s.pays and s.claim.user_id not in locked:
                log.info("job_settle_payer_busy", job_id=str(s.claim.job_id))
                skipped.add(s.claim.key)
        return [s for s in batch if s.claim.key not in skipped]
