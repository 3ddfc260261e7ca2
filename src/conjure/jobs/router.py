"""HTTP routes of the jobs domain: status, live events (SSE), cancel, and operator controls."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from sqlalchemy import select
from sse_starlette import EventSourceResponse, ServerSentEvent

from conjure.auth.deps import AdminUser, CurrentUser
from conjure.deps import RuntimeDep, SessionDep
from conjure.errors import NotFound
from conjure.events.deps import SseSlot
from conjure.jobs import dlq, service
from conjure.jobs.models import TERMINAL_STATUSES, Job, JobStatus
from conjure.jobs.schemas import (
    AdminJobList,
    AdminJobView,
    ChildJobView,
    JobView,
    PurgeResult,
    QueueStatsView,
    RedriveResult,
)
from conjure.kit.paging import Page, PageDep
from conjure.runtime import Runtime

router = APIRouter(tags=["jobs"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such job (or not yours)"}}
SSE_IDLE_RECHECK_SECONDS = 5.0  # re-read the table when the bus is quiet (a lost pub/sub message)
SSE_PING_SECONDS = 15


@router.get("/api/v1/jobs/{job_id}", responses=NOT_FOUND)
async def get_job(job_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> JobView:
    """A job's status, progress, and result or error."""
    job = await service.get_job_for_user(session, job_id, user)
    view = JobView.from_job(job, queue_position=await service.queue_position(session, job))
    children = await service.children_of(session, job.id)
    view.children = [ChildJobView(id=c.id, kind=c.kind, status=JobStatus(c.status)) for c in children]
    return view


@router.post(
    "/api/v1/jobs/{job_id}/cancel",
    responses={**NOT_FOUND, 409: {"description": "The job already ended"}},
)
async def cancel_job(
    job_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, user: CurrentUser
) -> JobView:
    """Cancel a queued job at once, or ask a running one to stop at its next step."""
    job = await service.cancel_job(session, runtime, job_id, user)
    return JobView.from_job(job)


def _sse(event: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(event, default=str), event=event["type"], id=str(event["seq"]))


MAX_EVENT_SEQ = 2**31 - 1  # jobs.event_seq is a 32-bit integer


async def _event_stream(runtime: Runtime, job_id: uuid.UUID, after: int) -> AsyncIterator[ServerSentEvent]:
    """Replay stored events after ``after``, then follow live ones; end after the final event."""
    last = after
    async with runtime.broker.events.subscribe(job_id) as subscription:
        replay = True
        while True:
            if replay:
                async with runtime.db.session() as session:
                    missed = await service.events_after(session, job_id, last)
                    status = (
                        None if missed else await session.scalar(select(Job.status).where(Job.id == job_id))
                    )
                if status in TERMINAL_STATUSES:
                    return  # reconnected after the final event: nothing more will come
                for event in missed:
                    yield _sse(event)
                    last = event["seq"]
                    if event["type"] in TERMINAL_STATUSES:
                        return
            event = await subscription.get(SSE_IDLE_RECHECK_SECONDS)
            # Out of order or nothing at all: the table is the source of truth.
            replay = event is None or event["seq"] != last + 1
            if event is None or replay:
                continue
            yield _sse(event)
            last = event["seq"]
            if event["type"] in TERMINAL_STATUSES:
                return


@router.get(
    "/api/v1/jobs/{job_id}/events",
    responses={**NOT_FOUND, 200: {"content": {"text/event-stream": {}}, "description": "Event stream"}},
)
async def job_events(
    job_id: uuid.UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    user: CurrentUser,
    _slot: SseSlot,  # counts against the user's cap on open streams (429 beyond it)
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """Server-Sent Events: status changes and steps, a final event, then the stream closes."""
    await service.get_job_for_user(session, job_id, user)
    try:
        # Clamped to the column's range: a huge id would overflow the driver mid-stream (a broken 500).
        after = min(max(int(last_event_id or 0), 0), MAX_EVENT_SEQ)
    except ValueError:
        after = 0
    return EventSourceResponse(_event_stream(runtime, job_id, after), ping=SSE_PING_SECONDS)


# Operator controls (admin role). Literal "dlq" routes come before "{job_id}" ones.


async def _stats(session: SessionDep, runtime: Runtime) -> QueueStatsView:
    stats = await runtime.broker.stats()
    return QueueStatsView(by_status=await service.count_by_status(session), broker=stats.as_dict())


@router.get("/api/v1/admin/jobs")
async def admin_jobs(
    session: SessionDep,
    runtime: RuntimeDep,
    _admin: AdminUser,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AdminJobList:
    """Recent jobs and queue depth / in-flight counts (operator console)."""
    jobs = await service.list_jobs(session, status=status, limit=limit)
    return AdminJobList(jobs=[AdminJobView.from_job(j) for j in jobs], stats=await _stats(session, runtime))


@router.get("/api/v1/admin/jobs/dlq")
async def admin_dlq(session: SessionDep, _admin: AdminUser, page: PageDep) -> Page[AdminJobView]:
    """Jobs in the dead-letter queue, the latest to arrive first (no payloads)."""
    jobs, total = await dlq.list_dead_letters(session, limit=page.limit, offset=page.offset)
    items = [AdminJobView.from_job(job) for job in jobs]
    return Page[AdminJobView](items=items, total=total, limit=page.limit, offset=page.offset)


# An operator's explicit choice: run priced jobs again without holding their price.
FreeRedrive = Annotated[bool, Query(description="Run priced jobs without a new hold (on the house).")]


def _redrive_result(done: dlq.Redriven, free: bool) -> RedriveResult:
    return RedriveResult(redriven=len(done.redriven), short_of_stars=done.short_of_stars, free=free)


@router.post("/api/v1/admin/jobs/dlq/redrive")
async def admin_redrive_all(
    session: SessionDep, runtime: RuntimeDep, _admin: AdminUser, free: FreeRedrive = False
) -> RedriveResult:
    """Re-queue every DLQ job with a fresh attempt budget; a priced one holds its price again
    (its owner lacking the stars: it stays, listed in ``short_of_stars``) unless ``free``."""
    return _redrive_result(await dlq.redrive(session, runtime, None, free=free), free)


@router.delete("/api/v1/admin/jobs/dlq")
async def admin_purge_dlq(session: SessionDep, runtime: RuntimeDep, _admin: AdminUser) -> PurgeResult:
    """Give up on every DLQ job (they become ``failed``; rows are kept)."""
    return PurgeResult(purged=await dlq.purge_dlq(session, runtime))


@router.post("/api/v1/admin/jobs/{job_id}/redrive", responses={404: {"description": "Not in the DLQ"}})
async def admin_redrive(
    job_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, _admin: AdminUser, free: FreeRedrive = False
) -> RedriveResult:
    """Re-queue one DLQ job (holding its price again unless ``free``)."""
    job = await session.get(Job, job_id)
    if job is None or job.status != JobStatus.DLQ:
        raise NotFound("No such job in the dead-letter queue.")
    return _redrive_result(await dlq.redrive(session, runtime, [job_id], free=free), free)
