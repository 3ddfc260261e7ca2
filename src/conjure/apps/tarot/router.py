"""HTTP routes of the tarot app (seed 000): ask, follow a reading, list past readings."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

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
from conjure.jobs.schemas import JobView

router = APIRouter(prefix="/api/v1", tags=["tarot"])

PROBLEMS: dict[int | str, dict[str, str]] = {
    401: {"description": "Not signed in"},
    402: {"description": "No star available (`insufficient_stars`)"},
    409: {"description": "Idempotency-Key reused with another question"},
    422: {"description": "Question under 8 or over 180 characters, or with control characters"},
}


@router.post("/tarot/read", status_code=202, response_model=ReadAccepted, responses=PROBLEMS)
async def read(
    body: ReadRequest,
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ReadAccepted:
    """Ask the cards a question; one star is held now and charged only if the reading succeeds."""
    job = await service.submit_reading(
        runtime,
        user_id=principal.user_id,
        question=body.question,
        idempotency_key=idempotency_key,
        trace_id=getattr(request.state, "request_id", None),
    )
    return ReadAccepted(job_id=job.id, status=JobStatus(job.status), trace_id=job.trace_id)


@router.get(
    "/reading/{job_id}", response_model=ReadingStatus, responses={404: {"description": "No such reading"}}
)
async def get_reading(job_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep) -> ReadingStatus:
    """A reading's status; ``result`` once it succeeded, ``error`` (code, message) once it failed."""
    job = await service.reading_job(runtime, job_id, principal.user_id)
    view = JobView.from_job(job)
    return ReadingStatus(
        job_id=job.id, status=view.status, result=view.result, error=view.error, progress=view.progress
    )


@router.get("/readings", response_model=ReadingHistory)
async def list_readings(
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReadingHistory:
    """The caller's past readings, newest first."""
    rows, total = await service.list_readings(session, user, limit=limit, offset=offset)
    items = [ReadingSummary.model_validate(row, from_attributes=True) for row in rows]
    return ReadingHistory(items=items, total=total, limit=limit, offset=offset)
