"""Operator actions on the dead-letter queue: list it (a page), re-drive (with a new hold, or free by
choice) and purge.

A job reaches the DLQ with its hold released, so a re-drive that simply re-queued it would run a
priced job for nothing. A re-drive therefore holds the price again through the wallet
(:func:`conjure.wallet.service.hold_stars_again`), captured on success and released otherwise as on
the first run; an owner who cannot cover it keeps the job in the DLQ. Only an operator's explicit
``free`` re-drive runs it without a hold, and its ``queued`` event says so (``"free": true``).

A re-driven job is an operator waiting on it: it goes back through its payer's lane in class
``HIGH`` (stored on its row, so a later retry or reconciler pass keeps it; conjure.jobs.lanes).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.db import after_commit, utcnow
from conjure.jobs.lanes import Lane, Priority
from conjure.jobs.models import JOBS, Job, JobStatus
from conjure.jobs.redispatch import stored_lane
from conjure.jobs.service import record_event
from conjure.wallet.service import InsufficientStars, hold_stars_again

if TYPE_CHECKING:
    from conjure.runtime import Runtime


@dataclass(frozen=True)
class Redriven:
    """What a re-drive did: the jobs queued again, and those left in the DLQ for want of stars."""

    redriven: list[uuid.UUID] = field(default_factory=list)
    short_of_stars: list[uuid.UUID] = field(default_factory=list)


# What an operator may run again: the DLQ, and from the console a failed or canceled job too.
RETRYABLE = (JobStatus.DLQ, JobStatus.FAILED, JobStatus.CANCELED)


async def list_dead_letters(session: AsyncSession, *, limit: int, offset: int) -> tuple[list[Job], int]:
    """One page of the DLQ, the latest to arrive first, and how many jobs it holds in all."""
    dead = Job.status == JobStatus.DLQ
    total = await session.scalar(select(func.count()).select_from(Job).where(dead))
    # updated_at: for a job in the DLQ, its last change is normally its arrival there. The id
    # orders equal times, so pages neither repeat nor skip a job.
    latest_first = (Job.updated_at.desc(), Job.id)
    stmt = select(Job).where(dead).order_by(*latest_first).limit(limit).offset(offset)
    return list(await session.scalars(stmt)), int(total or 0)


async def redrive(
    session: AsyncSession,
    runtime: Runtime,
    job_ids: Sequence[uuid.UUID] | None,
    *,
    free: bool = False,
    statuses: Sequence[JobStatus] = (JobStatus.DLQ,),
) -> Redriven:
    """Put DLQ jobs (these, or all; or jobs in ``statuses``) back in the queue with a fresh attempt budget.

    Attempt numbers continue (each attempt keeps its own ``job_attempts`` row), so the budget
    grows instead of the counter restarting. A priced job holds its price again (402 rules: a
    job whose owner lacks the stars stays in the DLQ), unless ``free``: the operator's choice to
    run it on the house, recorded in its ``queued`` event.
    """
    query = select(Job).where(Job.status.in_(list(statuses)))
    if job_ids is not None:
        query = query.where(Job.id.in_(job_ids))
    # Locked, so two operators re-driving at once hold once; in owner order, as the wallet locks.
    query = query.order_by(Job.user_id, Job.id).with_for_update()
    jobs = (await session.execute(query)).scalars().all()
    now = utcnow()
    redriven: list[uuid.UUID] = []
    lanes: list[Lane | None] = []
    short: list[uuid.UUID] = []
    for job in jobs:
        priced = job.price_stars > 0 and job.user_id is not None
        held = 0
        if priced and not free:
            assert job.user_id is not None
            try:
                await hold_stars_again(session, job.user_id, job.price_stars, job_id=job.id)
            except InsufficientStars:
                short.append(job.id)  # nothing was written for it: it stays in the DLQ
                continue
            held = job.price_stars
        job.status = JobStatus.QUEUED
        job.max_attempts = job.attempts + job.max_attempts
        job.error_code = None
        job.last_error = None
        job.finished_at = None
        # An operator's retry runs the job: an earlier cancel request or client deadline no longer applies.
        job.cancel_requested = False
        job.start_deadline = None
        job.run_at = now
        job.priority = Priority.HIGH  # an operator's re-drive overtakes the queue (aging still applies)
        job.event_seq += 1
        await session.flush()
        data = {"status": "queued", "redriven": True, "held_stars": held, "free": priced and free}
        await record_event(session, runtime, job.id, job.event_seq, "queued", data)
        redriven.append(job.id)
        lanes.append(stored_lane(job.user_id, job.lane, job.priority))

    async def dispatch() -> None:
        await runtime.broker.drop_dead_letters(redriven)
        await runtime.broker.dispatch(redriven, lanes)

    if redriven:
        after_commit(session, dispatch)
    return Redriven(redriven, short)


async def purge_dlq(session: AsyncSession, runtime: Runtime) -> int:
    """Give up on every DLQ job: they become ``failed`` (kept as records) and leave the DLQ stream."""
    now = utcnow()
    result = await session.execute(
        update(JOBS)
        .where(JOBS.c.status == JobStatus.DLQ)
        .values(status=JobStatus.FAILED, error_code="purged_from_dlq", updated_at=now)
        .returning(JOBS.c.id)
    )
    purged = len(result.all())

    async def drop() -> None:
        await runtime.broker.drop_dead_letters(None)

    after_commit(session, drop)
    return purged
