"""Prebuilt PostgreSQL statements for the worker's hot path.

Built once per shape and executed with parameters, so SQLAlchemy neither rebuilds
nor re-keys them per job: at hundreds of jobs per second that is most of the CPU.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, insert, select, update

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
