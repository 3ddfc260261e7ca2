"""HTTP routes of the tarot app (seed 000): ask, follow a reading, list past readings."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from conjure.apps.tarot import service
from conjure.apps.tarot.schemas import (
    ReadAccepted,
    ReadingHistory,
    ReadingStatus,
    ReadingSummary,
    ReadRequest,
)
from conjure.auth.deps import CurrentPrincipal, CurrentUser
from conjure.deps import RuntimeDep, SessionDep
from conjure.jobs.models import JobStatus
from conjure.jobs.schemas import user_error
from conjure.kit.hotpath import hot_route
from conjure.kit.paging import PageDep
from conjure.kit.problems import problems
from conjure.kit.submit import JobOptions

router = APIRouter(prefix="/api/v1", tags=["tarot"])

READ_PROBLEMS = problems(
    401, 402, 409, 422, describe={422: "Question under 8 or over 180 characters, or with control characters"}
)


@router.post("/tarot/read", status_code=202, response_model=ReadAccepted, responses=READ_PROBLEMS)
@hot_route
async def read(
    body: ReadRequest, options: JobOptions, principal: CurrentPrincipal, runtime: RuntimeDep
) -> ReadAccepted:
    """Ask the cards a question; one star is held now and charged only if the reading succeeds."""
    job = await service.submit_reading(
        runtime, options, user_id=principal.user_id, question=body.question, webhook_url=body.webhook
    )
    return ReadAccepted(job_id=job.id, status=JobStatus(job.status), trace_id=job.trace_id)


@router.get(
    "/reading/{job_id}",
    response_model=ReadingStatus,
    responses=problems(401, 404, describe={404: "No such reading"}),
)
@hot_route
async def get_reading(job_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep) -> ReadingStatus:
    """A reading's status; ``result`` once it succeeded, ``error`` (code, message) once it failed."""
    job = await service.reading_job(runtime, job_id, principal.user_id)
    status = JobStatus(job.status)
    # Straight from the row (not through a whole JobView first): the poll is the hottest route.
    result = job.result if status is JobStatus.SUCCEEDED else None
    return ReadingStatus(
        job_id=job.id, status=status, result=result, error=user_error(job), progress=job.progress
    )


@router.get("/readings", response_model=ReadingHistory, responses=problems(401, 422))
async def list_readings(user: CurrentUser, session: SessionDep, page: PageDep) -> ReadingHistory:
    """The caller's past readings, newest first."""
    rows, total = await service.list_readings(session, user, limit=page.limit, offset=page.offset)
    items = [ReadingSummary.model_validate(row, from_attributes=True) for row in rows]
    return ReadingHistory(items=items, total=total, limit=page.limit, offset=page.offset)
