"""Prebuilt PostgreSQL statements for the worker's hot path.

Built once per shape and executed with parameters, so SQLAlchemy neither rebuilds
nor re-keys them per job: at hundreds of jobs per second that is most of the CPU.
The batch statements (:data:`SETTLE_BATCH`, :data:`PROGRESS_BATCH`) take one array
per column and write many jobs in one round trip, each row under its own claim guard.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    String,
    Table,
    and_,
    any_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from conjure.jobs.models import JobAttempt, JobStatus
from conjure.jobs.service import EVENTS, JOBS

ATTEMPTS = cast(Table, JobAttempt.__table__)


@lru_cache(maxsize=2)
def claim_update(*, array: bool = False) -> Any:
    """Claim the jobs ``c_ids`` for worker ``c_worker`` at ``c_now`` with lease ``c_lease``:
    queued ones (a retry once its ``run_at`` is due), or processing ones whose lease expired;
    never past their start deadline.

    ``array``: ``id = ANY(:c_ids)`` (PostgreSQL), one fixed SQL text for any batch size; an
    expanding ``IN`` is re-rendered for every execution (8 % of a no-op job's worker CPU)."""
    now = bindparam("c_now", type_=JOBS.c.updated_at.type)
    ids = (
        JOBS.c.id == any_(bindparam("c_ids", type_=ARRAY(JOBS.c.id.type)))
        if array
        else JOBS.c.id.in_(bindparam("c_ids", expanding=True))
    )
    return (
        update(JOBS)
        .where(
            ids,
            or_(
                # A retry only once it is due: an early duplicate delivery must not cut its backoff
                # short (the delayed dispatch brings it back; a fresh job is due at once).
                and_(
                    JOBS.c.status == JobStatus.QUEUED.value,
                    or_(JOBS.c.attempts == 0, JOBS.c.run_at <= now),
                ),
                and_(JOBS.c.status == JobStatus.PROCESSING.value, JOBS.c.lease_expires_at < now),
            ),
            or_(JOBS.c.start_deadline.is_(None), JOBS.c.start_deadline > now),
        )
        .values(
            status=JobStatus.PROCESSING.value,
            attempts=JOBS.c.attempts + 1,
            worker_id=bindparam("c_worker", type_=JOBS.c.worker_id.type),
            started_at=func.coalesce(JOBS.c.started_at, now),
            heartbeat_at=now,
            lease_expires_at=bindparam("c_lease", type_=JOBS.c.lease_expires_at.type),
            event_seq=JOBS.c.event_seq + 1,
            updated_at=now,
        )
        .returning(
            JOBS.c.id,
            JOBS.c.kind,
            JOBS.c.user_id,
            JOBS.c.payload,
            JOBS.c.attempts,
            JOBS.c.max_attempts,
            JOBS.c.price_stars,
            JOBS.c.webhook_url,
            JOBS.c.cancel_requested,
            JOBS.c.event_seq,
        )
    )


@lru_cache(maxsize=1)
def claim_statement() -> Any:
    """PostgreSQL: the claim plus closing lost attempts, opening new ones and ``processing`` events."""
    claimed = claim_update(array=True).cte("claimed")
    now = bindparam("c_now", type_=JOBS.c.updated_at.type)
    # CTE parts see the table as it was before the statement, so this only closes old attempts.
    lost = (
        update(ATTEMPTS)
        .where(
            ATTEMPTS.c.job_id.in_(select(claimed.c.id).where(claimed.c.attempts > 1)),
            ATTEMPTS.c.finished_at.is_(None),
        )
        .values(finished_at=now, success=False, error_code="lease_expired", error="Worker lost.")
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
                now,
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
                now,
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
# JSON travels as text and is cast here, so asyncpg needs no per-element codec.
SETTLE_BATCH = text(
    """
WITH input AS (
    SELECT * FROM unnest(
        CAST(:ids AS uuid[]), CAST(:attempts AS int[]), CAST(:statuses AS text[]),
        CAST(:results AS text[]), CAST(:usages AS text[]), CAST(:codes AS text[]),
        CAST(:messages AS text[]), CAST(:run_ats AS timestamptz[]), CAST(:event_types AS text[]),
        CAST(:event_data AS text[]), CAST(:successes AS boolean[]), CAST(:times_ms AS int[])
    ) AS i(id, attempt, status, result, usage, code, message, run_at, event_type, event_data,
           success, time_ms)
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
        processing_time_ms = i.time_ms
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

# Lock the payers of a settle batch that are free right now (PostgreSQL), in id order; the jobs
# of a payer whose row someone else holds are settled on their own instead of stalling the batch.
LOCK_PAYERS = text(
    "SELECT id FROM users WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE SKIP LOCKED"
)
