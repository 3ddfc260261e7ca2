"""Imagegen HTTP routes (seed 004): ``POST /api/generation`` → 202, ``GET /api/generation/{job_id}``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from conjure.apps.imagegen import service
from conjure.apps.imagegen.schemas import (
    GenerationAccepted,
    GenerationPage,
    GenerationRequest,
    GenerationView,
)
from conjure.auth.deps import CurrentPrincipal, CurrentUser
from conjure.deps import RuntimeDep, SessionDep
from conjure.kit.paging import PageDep
from conjure.kit.problems import problems
from conjure.kit.submit import JobOptions, limit_new_submits

router = APIRouter(prefix="/api", tags=["imagegen"])

_SUBMIT_ERRORS = problems(
    401,
    402,
    409,
    422,
    429,
    describe={
        422: "Invalid prompt, size, webhook or Cancel-After",
        429: "More than RATE_LIMIT_GENERATION new generations (default 5/minute; a replay with its "
        "Idempotency-Key is not counted); see Retry-After",
    },
)


@router.post(
    "/generation",
    status_code=202,
    responses=_SUBMIT_ERRORS,
    dependencies=[Depends(limit_new_submits("generation", "rate_limit_generation"))],
)
async def create_generation(
    body: GenerationRequest, options: JobOptions, principal: CurrentPrincipal, runtime: RuntimeDep
) -> GenerationAccepted:
    """Ask for an image; answers at once with the job id (one star held, charged only on success)."""
    job = await service.submit_generation(runtime, options, user_id=principal.user_id, request=body)
    return GenerationAccepted(job_id=job.id, status=service.public_status(job.status))


@router.get(
    "/generation/{job_id}",
    responses=problems(401, 404, describe={404: "No such generation"}),
)
async def read_generation(
    job_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep
) -> GenerationView:
    """A generation's status, with a signed, expiring image link once completed."""
    return await service.generation_view(runtime, job_id, principal.user_id)


@router.get("/generations", responses=problems(401, 422))
async def list_generations(
    user: CurrentUser, session: SessionDep, runtime: RuntimeDep, page: PageDep
) -> GenerationPage:
    """The caller's images, newest first."""
    return await service.list_generations(session, runtime, user, limit=page.limit, offset=page.offset)
