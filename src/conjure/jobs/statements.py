"""Prebuilt PostgreSQL statements for the worker's hot path.

Built once per shape and executed with parameters, so SQLAlchemy neither rebuilds
nor re-keys them per job: at hundreds of jobs per second that is most of the CPU.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from sqlalchemy import String, Table, and_, bindparam, exists, func, insert, literal, or_, select, update

from conjure.jobs.models import JobAttempt, JobStatus
from conjure.jobs.service import EVENTS, JOBS

ATTEMPTS = cast(Table, JobAttempt.__table__)
ATTEMPT_FIELDS = ("finished_at", "success", "error", "error_code", "processing_time_ms")


@lru_cache(maxsize=64)
def outcome_statement(job_fields: tuple[str, ...]) -> Any:
    """Settle an attempt: job row (``v_<field>``), attempt row (``a_<field>``) and event (``e_*``),
    all guarded by the claim (``g_id``, ``g_attempt``, ``g_worker``); selects the new event seq."""
    job_values: dict[str, Any] = {f: bindparam(f"v_{f}", type_=JOBS.c[f].type) for f in job_fields}
    job_values["event_seq"] = JOBS.c.event_seq + 1
    job_id = bindparam("g_id", type_=JOBS.c.id.type)
    attempt = bindparam("g_attempt", type_=JOBS.c.attempts.type)
    job = (
        update(JOBS)
        .where(
            JOBS.c.id == job_id,
            JOBS.c.status == JobStatus.PROCESSING.value,
            JOBS.c.attempts == attempt,
            JOBS.c.worker_id == bindparam("g_worker", type_=JOBS.c.worker_id.type),
        )
        .values(job_values)
        .returning(JOBS.c.id, JOBS.c.event_seq)
        .cte("job")
    )
    att = (
        update(ATTEMPTS)
        .where(ATTEMPTS.c.job_id == job_id, ATTEMPTS.c.attempt_number == attempt, exists(select(job.c.id)))
        .values({f: bindparam(f"a_{f}", type_=ATTEMPTS.c[f].type) for f in ATTEMPT_FIELDS})
        .returning(ATTEMPTS.c.id)
        .cte("att")
    )
    event = (
        insert(EVENTS)
        .from_select(
            ["job_id", "seq", "type", "data", "created_at"],
            select(
                job.c.id,
                job.c.event_seq,
                bindparam("e_type", type_=EVENTS.c.type.type),
                bindparam("e_data", type_=EVENTS.c.data.type),
                bindparam("e_now", type_=EVENTS.c.created_at.type),
            ),
        )
        .returning(EVENTS.c.id)
        .cte("event")
    )
    return select(job.c.event_seq).add_cte(att, event)


@lru_cache(maxsize=1)
def claim_update() -> Any:
    """Claim the jobs ``c_ids`` for worker ``c_worker`` at ``c_now`` with lease ``c_lease``:
    queued ones, or processing ones whose lease expired; never past their start deadline."""
    now = bindparam("c_now", type_=JOBS.c.updated_at.type)
    return (
        update(JOBS)
        .where(
            JOBS.c.id.in_(bindparam("c_ids", expanding=True)),
            or_(
                JOBS.c.status == JobStatus.QUEUED.value,
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
    claimed = claim_update().cte("claimed")
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
