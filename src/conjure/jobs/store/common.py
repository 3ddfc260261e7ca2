"""Statements and steps both job stores share (the parts of a transition that do not differ)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, any_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from conjure.jobs.models import JOBS, PAUSED_KINDS, JobStatus
from conjure.wallet.service import hold_stars, lock_user

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

QUEUED_DATA = {"status": JobStatus.QUEUED.value}
CLAIMED_COLUMNS = (
    "id",
    "kind",
    "user_id",
    "payload",
    "attempts",
    "max_attempts",
    "price_stars",
    "webhook_url",
    "cancel_requested",
    "event_seq",
    "usage",
)
SNAPSHOT_COLUMNS = (
    *("id", "user_id", "kind", "status", "progress", "result", "error_code", "last_error"),
    *("attempts", "max_attempts", "trace_id", "created_at", "started_at", "finished_at"),
)


@lru_cache(maxsize=2)
def claim_update(*, array: bool = False) -> Any:
    """Claim the jobs ``c_ids`` for worker ``c_worker`` at ``c_now`` with lease ``c_lease``:
    queued ones (a retry once its ``run_at`` is due), or processing ones whose lease expired;
    never past their start deadline, never of a paused kind.

    Built once per shape and executed with parameters, so SQLAlchemy neither rebuilds nor re-keys
    it per batch. ``array``: ``id = ANY(:c_ids)`` (PostgreSQL), one fixed SQL text for any batch
    size; an expanding ``IN`` is re-rendered for every execution (8 % of a no-op job's worker CPU).
    """
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
            # A paused kind (the operator console) stays queued; the reconciler re-dispatches it.
            JOBS.c.kind.not_in(select(PAUSED_KINDS.c.kind)),
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
        .returning(*(JOBS.c[name] for name in CLAIMED_COLUMNS))
    )


async def held_insert(
    session: AsyncSession,
    values: dict[str, Any],
    insert_job: Callable[[AsyncSession, dict[str, Any]], Awaitable[bool]],
) -> bool:
    """Lock the payer, insert the job (``insert_job``: job + ``queued`` event), hold its price.

    The payer is locked before the job's foreign key takes a share lock on the same row: two
    submits that each held the share lock and then asked for the update lock deadlocked.
    """
    price, user_id = values["price_stars"], values["user_id"]
    if price > 0:
        await lock_user(session, user_id)
    if not await insert_job(session, values):
        return False
    if price > 0:
        await hold_stars(session, user_id, price, job_id=values["id"])
    return True
