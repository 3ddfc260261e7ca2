"""Runs that spend no attempt: parking a job on a provider's callback, and free delays.

**Parking.** A handler that has handed work to a provider calls ``ctx.park(poll_after=…,
deadline=…, checkpoint=…)``. Its run ends like any other, under its claim (:func:`free_run`):
the job becomes ``waiting`` (not terminal; its wallet hold stays), keeps the checkpoint, gives
up its worker slot, lease and broker entry, and is due again at the poll time. Then one of:

- a callback calls :func:`resume_job` (in the transaction that records it): the job is
  ``queued`` again at once with the callback's data, and dispatched after commit; a second
  callback changes nothing. A callback that comes *before* the park committed (the run is
  still ``processing``) leaves its data on the row, and the park then queues the job at once
  instead of waiting: the row lock orders the two, so no wake-up is lost;
- the scheduler (:func:`wake_waiting`) queues it at its poll time (the poll fallback: the
  handler looks once and parks again), and ends it ``failed`` with ``callback_timeout`` (hold
  released, the kind's ``on_failure``) when it is still waiting at its deadline;
- a cancel, or its ``Cancel-After`` start deadline, ends it at once like a queued job.

The next run reads ``ctx.saved_state()`` (checkpoint and callback data) and continues. Each run
has the kind's time limit; the wait has the park's deadline (at most ``JOB_MAX_WAIT_SECONDS``).

**Free delays.** A handler raising :class:`conjure.jobs.registry.JobDeferred` (a provider's
circuit breaker is open: nothing was tried) is queued again after the backoff, at least its
``retry_after``, like a retry that spends nothing.

Neither counts as an attempt: each run still has its ``job_attempts`` row (``attempts`` counts
runs), and the job's ``max_attempts`` grows by one, so its budget of real attempts is whole.
Both are capped per job (``JOB_MAX_PARKS``, ``JOB_MAX_FREE_DELAYS``); past a cap the run is an
ordinary retryable failure, so every job still ends.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import func, insert, null, select, update

from conjure.db import after_commit, utcnow
from conjure.dbfaults import retry_transaction
from conjure.jobs.attempt import Claim, LostClaim, Outcome, add_usage
from conjure.jobs.models import ATTEMPTS, EVENTS, JOBS, Job, JobStatus
from conjure.jobs.registry import SavedState
from conjure.jobs.service import end_queued_job, record_event

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from conjure.db import Database
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.jobs.parking")
PARKED, DEFERRED = "parked", "deferred"
BATCH = 500
CALLBACK_TIMEOUT = "callback_timeout"


@dataclass(frozen=True)
class Freed:
    """A run written as spending no attempt: its event, and when (and whether) to dispatch it."""

    seq: int
    event: str  # waiting | queued (a park a callback beat) | retrying (a free delay)
    data: dict[str, Any]
    run_at: dt.datetime
    dispatch_now: bool  # a park that a callback had already resumed
    delay: float | None  # a free delay's seconds


def _guard(claim: Claim, worker_id: str) -> tuple[Any, ...]:
    return (
        JOBS.c.id == claim.job_id,
        JOBS.c.status == JobStatus.PROCESSING,
        JOBS.c.attempts == claim.attempt,
        JOBS.c.worker_id == worker_id,
    )


def _spent(outcome: Outcome) -> Outcome:
    """The ordinary retryable failure a park or free delay becomes once its cap is reached."""
    if outcome.kind == PARKED:
        return Outcome(
            "retry", code="too_many_parks", message="The job parked too often.", usage=outcome.usage
        )
    return Outcome(
        "retry",
        code=outcome.code,
        message=outcome.message,
        usage=outcome.usage,
        retry_after=outcome.retry_after,
    )


async def free_run(
    runtime: Runtime, worker_id: str, claim: Claim, outcome: Outcome, delay: float
) -> Freed | Outcome | None:
    """Write a parked or deferred run under its claim without spending an attempt.

    Returns what was written; None when the claim was lost; or the outcome to settle instead
    (a cancel was asked meanwhile, or the job's cap of such runs is reached)."""
    settings = runtime.settings
    parked = outcome.kind == PARKED
    counter = JOBS.c.parks if parked else JOBS.c.free_delays
    cap = settings.job_max_parks if parked else settings.job_max_free_delays

    async def write() -> Freed | Outcome | None:
        now = utcnow()
        async with runtime.db.session() as session:
            row = (
                await session.execute(
                    select(counter, JOBS.c.resume_data, JOBS.c.cancel_requested)
                    .where(*_guard(claim, worker_id))
                    .with_for_update()
                )
            ).first()
            if row is None:
                return None
            if row[2]:
                return Outcome(
                    "canceled", code="canceled", message="Canceled by the user.", usage=outcome.usage
                )
            if (row[0] or 0) >= cap:
                return _spent(outcome)
            values: dict[str, Any] = {counter.name: func.coalesce(counter, 0) + 1}
            if parked:
                assert outcome.park is not None
                park = outcome.park
                deadline = min(park.deadline, now + dt.timedelta(seconds=settings.job_max_wait_seconds))
                resumed = row[1] is not None  # a callback came while this run was still going
                status = JobStatus.QUEUED if resumed else JobStatus.WAITING
                run_at = now if resumed else min(max(park.poll_at, now), deadline)
                values.update(checkpoint=park.checkpoint, wait_deadline=deadline)
                event = str(status)
                data: dict[str, Any] = {
                    "status": str(status),
                    "attempt": claim.attempt,
                    "parked": True,
                    "poll_at": run_at.isoformat(),
                    "deadline": deadline.isoformat(),
                }
            else:
                resumed, status, run_at = False, JobStatus.QUEUED, now + dt.timedelta(seconds=delay)
                values.update(error_code=outcome.code, last_error=outcome.message)
                event = "retrying"
                data = {
                    "status": str(status),
                    "attempt": claim.attempt,
                    "code": outcome.code,
                    "delay_seconds": round(delay, 4),
                    "free": True,
                }
            if outcome.usage is not None:
                values["usage"] = add_usage(claim.usage_before, outcome.usage)
            seq = await session.scalar(
                update(JOBS)
                .where(*_guard(claim, worker_id))
                .values(
                    status=status,
                    run_at=run_at,
                    worker_id=None,
                    lease_expires_at=None,
                    max_attempts=JOBS.c.max_attempts + 1,
                    event_seq=JOBS.c.event_seq + 1,
                    updated_at=now,
                    **values,
                )
                .returning(JOBS.c.event_seq)
            )
            assert seq is not None  # the row is locked and matched the guard just above
            await session.execute(
                update(ATTEMPTS)
                .where(ATTEMPTS.c.job_id == claim.job_id, ATTEMPTS.c.attempt_number == claim.attempt)
                .values(
                    finished_at=now,
                    success=None if parked else False,
                    error_code=PARKED if parked else outcome.code,
                    error=None if parked else outcome.message,
                    processing_time_ms=int((time.monotonic() - claim.started) * 1000),
                    usage=outcome.usage,
                )
            )
            await session.execute(
                insert(EVENTS).values(job_id=claim.job_id, seq=seq, type=event, data=data, created_at=now)
            )
        return Freed(int(seq), event, data, run_at, dispatch_now=resumed, delay=None if parked else delay)

    return await retry_transaction(write, what="park" if parked else "free_delay")


async def read_saved_state(db: Database, job_id: uuid.UUID, attempt: int) -> SavedState:
    """The job's checkpoint and its callback's data, which this read consumes (so a later park
    is not taken for resumed by data this run has already seen)."""

    async def read() -> SavedState:
        async with db.session() as session:
            row = (
                await session.execute(
                    select(JOBS.c.checkpoint, JOBS.c.resume_data)
                    .where(
                        JOBS.c.id == job_id,
                        JOBS.c.status == JobStatus.PROCESSING,
                        JOBS.c.attempts == attempt,
                    )
                    .with_for_update()
                )
            ).first()
            if row is None:
                raise LostClaim
            if row[1] is not None:
                await session.execute(update(JOBS).where(JOBS.c.id == job_id).values(resume_data=null()))
            return SavedState(checkpoint=row[0], resume_data=row[1])

    return await retry_transaction(read, what="saved_state")


async def resume_job(
    session: AsyncSession, runtime: Runtime, job_id: uuid.UUID, data: dict[str, Any] | None = None
) -> bool:
    """A callback for ``job_id`` came: queue it again if it is waiting (dispatched after commit;
    True), else leave ``data`` for its run in progress or queued (False). Terminal jobs: nothing.

    In the caller's transaction (the one that records the callback). The job's row is locked
    first, so a park being written at the same time either sees this data or is seen here."""
    row = (
        await session.execute(
            select(JOBS.c.status, JOBS.c.resume_data).where(JOBS.c.id == job_id).with_for_update()
        )
    ).first()
    if row is None:
        return False
    status, now, brought = row[0], utcnow(), dict(data or {})
    if status in (JobStatus.PROCESSING, JobStatus.QUEUED):
        if row[1] is None:  # the first callback's data stays until a run has read it
            await session.execute(update(JOBS).where(JOBS.c.id == job_id).values(resume_data=brought))
        return False
    if status != JobStatus.WAITING:
        return False
    seq = await session.scalar(
        update(JOBS)
        .where(JOBS.c.id == job_id, JOBS.c.status == JobStatus.WAITING)
        .values(
            status=JobStatus.QUEUED,
            run_at=now,
            resume_data=brought,
            event_seq=JOBS.c.event_seq + 1,
            updated_at=now,
        )
        .returning(JOBS.c.event_seq)
    )
    if seq is None:
        return False
    await record_event(session, runtime, job_id, seq, "queued", {"status": "queued", "resumed": True})
    _dispatch_after_commit(session, runtime, [job_id])
    return True


def _dispatch_after_commit(session: AsyncSession, runtime: Runtime, ids: list[uuid.UUID]) -> None:
    async def dispatch() -> None:
        await runtime.broker.dispatch(ids)

    after_commit(session, dispatch)


async def wake_waiting(runtime: Runtime) -> int:
    """The scheduler's step: fail waiting jobs past their deadline (``callback_timeout``), queue
    those whose poll time came (the poll fallback). Returns how many it moved."""
    now = utcnow()
    async with runtime.db.session() as session:
        expired = (
            await session.scalars(
                select(Job)
                .where(Job.status == JobStatus.WAITING, Job.wait_deadline <= now)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        ).all()
        ended = 0
        for job in expired:
            ended += await end_queued_job(
                session,
                runtime,
                job,
                status=JobStatus.FAILED,
                code=CALLBACK_TIMEOUT,
                message="The provider did not report back before the job's deadline.",
            )
        due = (
            select(JOBS.c.id)
            .where(JOBS.c.status == JobStatus.WAITING, JOBS.c.run_at <= now)
            .order_by(JOBS.c.run_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        woken = (
            await session.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(due), JOBS.c.status == JobStatus.WAITING)
                .values(status=JobStatus.QUEUED, run_at=now, event_seq=JOBS.c.event_seq + 1, updated_at=now)
                .returning(JOBS.c.id, JOBS.c.event_seq)
            )
        ).all()
        for job_id, seq in woken:
            await record_event(session, runtime, job_id, seq, "queued", {"status": "queued", "woken": "poll"})
        if woken:
            _dispatch_after_commit(session, runtime, [job_id for job_id, _ in woken])
    if ended or woken:
        log.info("waiting_jobs_woken", polled=len(woken), timed_out=ended)
    return ended + len(woken)
