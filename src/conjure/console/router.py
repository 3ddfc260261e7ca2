"""The operator console's routes (admin role): find, inspect, retry and cancel jobs; pause job kinds;
throughput over time; a user by email. The page is ``/admin`` (conjure.web)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from conjure.auth.deps import AdminUser
from conjure.console import service
from conjure.console.schemas import (
    ActionResult,
    ConsoleJob,
    ConsoleJobDetail,
    KindView,
    Throughput,
    UserLookup,
)
from conjure.deps import RuntimeDep, SessionDep
from conjure.jobs.models import JobStatus
from conjure.kit.paging import Page, PageDep
from conjure.kit.params import IsoDateTime
from conjure.kit.problems import problems

router = APIRouter(tags=["admin"])

Free = Annotated[bool, Query(description="Run a priced job without holding its price again (on the house).")]


@router.get("/api/v1/admin/jobs/search", responses=problems(401, 403, 422))
async def search_jobs(
    session: SessionDep,
    _admin: AdminUser,
    page: PageDep,
    status: JobStatus | None = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    since: IsoDateTime | None = None,
    until: IsoDateTime | None = None,
    q: Annotated[str | None, Query(max_length=36, description="A job id or its first characters.")] = None,
) -> Page[ConsoleJob]:
    """Jobs by status, kind, owner's email, time range or id prefix; newest first."""
    flt = service.JobFilter(status=status, kind=kind, email=email, since=since, until=until, job_id=q)
    return await service.search_jobs(session, flt, page)


@router.get("/api/v1/admin/jobs/{job_id}", responses=problems(401, 403, 404, 422))
async def job_detail(job_id: uuid.UUID, session: SessionDep, _admin: AdminUser) -> ConsoleJobDetail:
    """One job: payload shape (free text redacted), attempts with errors and durations, events, usage."""
    return await service.job_detail(session, job_id)


@router.post("/api/v1/admin/jobs/{job_id}/retry", responses=problems(401, 403, 404, 409, 422))
async def retry_job(
    job_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, _admin: AdminUser, free: Free = False
) -> ActionResult:
    """Run a DLQ, failed or canceled job again with a fresh attempt budget."""
    return await service.retry_job(session, runtime, job_id, free=free)


@router.post("/api/v1/admin/jobs/{job_id}/cancel", responses=problems(401, 403, 404, 409, 422))
async def cancel_job(
    job_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, _admin: AdminUser
) -> ActionResult:
    """Cancel anyone's queued job at once (its hold released), or ask a running one to stop."""
    return await service.cancel_any_job(session, runtime, job_id)


@router.get("/api/v1/admin/kinds", responses=problems(401, 403))
async def kinds(session: SessionDep, runtime: RuntimeDep, _admin: AdminUser) -> list[KindView]:
    """Every job kind: jobs per status and whether workers are holding it."""
    return await service.kinds_overview(session, runtime)


@router.post("/api/v1/admin/kinds/{kind}/pause", responses=problems(401, 403, 404))
async def pause_kind(kind: str, session: SessionDep, runtime: RuntimeDep, admin: AdminUser) -> list[KindView]:
    """Workers stop starting this kind's jobs; they stay queued (not failed, not charged) until resumed."""
    await service.set_paused(session, runtime, kind, paused=True, by=admin.id)
    return await service.kinds_overview(session, runtime)


@router.post("/api/v1/admin/kinds/{kind}/resume", responses=problems(401, 403, 404))
async def resume_kind(
    kind: str, session: SessionDep, runtime: RuntimeDep, admin: AdminUser
) -> list[KindView]:
    await service.set_paused(session, runtime, kind, paused=False, by=admin.id)
    return await service.kinds_overview(session, runtime)


@router.get("/api/v1/admin/throughput", responses=problems(401, 403, 422))
async def throughput(
    session: SessionDep, _admin: AdminUser, minutes: Annotated[int, Query(ge=15, le=1440)] = 60
) -> Throughput:
    """Jobs submitted, started, succeeded and failed per bucket, and the queue's depth over time."""
    return await service.throughput(session, minutes)


@router.get("/api/v1/admin/users", responses=problems(401, 403, 404, 422))
async def lookup_user(
    session: SessionDep, _admin: AdminUser, email: Annotated[str, Query(min_length=3, max_length=320)]
) -> UserLookup:
    """An account by email: role, balances, latest jobs."""
    return await service.lookup_user(session, email)
