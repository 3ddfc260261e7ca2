"""Imagegen HTTP routes (seed 004): ``POST /api/generation`` → 202, ``GET /api/generation/{job_id}``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query

from conjure.apps.imagegen import service
from conjure.apps.imagegen.schemas import (
    GenerationAccepted,
    GenerationPage,
    GenerationRequest,
    GenerationView,
)
from conjure.auth.deps import CurrentPrincipal, CurrentUser
from conjure.deps import RuntimeDep, SessionDep
from conjure.ratelimit.deps import rate_limit

router = APIRouter(prefix="/api", tags=["imagegen"])

_SUBMIT_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Not signed in"},
    402: {"description": "Not enough stars (code insufficient_stars)"},
    409: {"description": "Idempotency-Key reused with another request"},
    422: {"description": "Invalid prompt or size"},
    429: {"description": "More than RATE_LIMIT_GENERATION requests (default 5/minute); see Retry-After"},
}


@router.post(
    "/generation",
    status_code=202,
    responses=_SUBMIT_ERRORS,
    dependencies=[Depends(rate_limit("generation", "rate_limit_generation"))],
)
async def create_generation(
    body: GenerationRequest,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> GenerationAccepted:
    """Ask for an image; answers at once with the job id (one star held, charged only on success)."""
    job = await service.submit_generation(
        runtime, user_id=principal.user_id, request=body, idempotency_key=idempotency_key
    )
    return GenerationAccepted(job_id=job.id, status=service.public_status(job.status))


@router.get(
    "/generation/{job_id}",
    responses={401: {"description": "Not signed in"}, 404: {"description": "No such generation"}},
)
async def read_generation(
    job_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> GenerationView:
    """A generation's status, with a signed, expiring image link once completed."""
    return await service.generation_view(runtime, job_id, principal.user_id)


@router.get("/generations", responses={401: {"description": "Not signed in"}})
async def list_generations(
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> GenerationPage:
    """The caller's images, newest first."""
    return await service.list_generations(session, runtime, user, limit=limit, offset=offset)
