"""Staging HTTP routes (seed 001): ``/api/v1/projects``, ``/api/v1/uploads/presign``, ``/api/v1/images``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from conjure.apps.staging import service
from conjure.apps.staging.schemas import (
    ImageAccepted,
    ImageCreate,
    ImagePage,
    ImageView,
    PresignRequest,
    PresignResponse,
    ProjectCreate,
    ProjectPage,
    ProjectUpdate,
    ProjectView,
    Restage,
)
from conjure.apps.staging.views import image_view, project_view
from conjure.auth.deps import CurrentPrincipal
from conjure.deps import RuntimeDep, SessionDep
from conjure.kit.paging import PageDep
from conjure.kit.problems import problems
from conjure.kit.submit import JobOptions

router = APIRouter(prefix="/api/v1", tags=["staging"])

_AUTH = problems(401, 422)
_NOT_FOUND = problems(401, 404, 422, describe={404: "No such project or image (another user's included)"})
_SUBMIT = problems(
    401,
    402,
    404,
    409,
    422,
    429,
    describe={
        402: "Not enough stars for the staging price (`insufficient_stars`)",
        429: "The plan's staged photos this month are used up (`staging_quota_exhausted`, with `limit`, "
        "`used`, `resets_at`); see Retry-After",
        404: "No such project, image or upload (`not_found`, `upload_not_found`)",
        422: "Unknown room type, style or quality; a bad `Cancel-After` or `webhook` (`validation_error`, "
        "`webhook_not_allowed`)",
    },
)


@router.post("/projects", status_code=201, responses=_AUTH)
async def create_project(
    body: ProjectCreate, principal: CurrentPrincipal, session: SessionDep
) -> ProjectView:
    """A new project to collect room photos in."""
    project = await service.create_project(session, principal.user_id, body.name)
    return project_view(project, 0)


@router.get("/projects", responses=_AUTH)
async def list_projects(principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> ProjectPage:
    """The caller's projects, newest first."""
    rows, total = await service.list_projects(
        session, principal.user_id, limit=page.limit, offset=page.offset
    )
    items = [project_view(project, count) for project, count in rows]
    return ProjectPage(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/projects/{project_id}", responses=_NOT_FOUND)
async def read_project(
    project_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> ProjectView:
    """One of the caller's projects."""
    project = await service.get_project(session, principal.user_id, project_id)
    return project_view(project, await service.count_images(session, project.id))


@router.patch("/projects/{project_id}", responses=_NOT_FOUND)
async def update_project(
    project_id: uuid.UUID, body: ProjectUpdate, principal: CurrentPrincipal, session: SessionDep
) -> ProjectView:
    """Rename a project."""
    project = await service.rename_project(session, principal.user_id, project_id, body.name)
    return project_view(project, await service.count_images(session, project.id))


@router.delete("/projects/{project_id}", status_code=204, responses=_NOT_FOUND)
async def delete_project(
    project_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Delete a project, its images and their stored photos."""
    await service.delete_project(session, runtime, principal.user_id, project_id)
    return Response(status_code=204)


@router.get("/projects/{project_id}/images", responses=_NOT_FOUND)
async def list_project_images(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
    page: PageDep,
) -> ImagePage:
    """A project's images, newest first, with fresh signed links."""
    images, total = await service.list_images(
        session, principal.user_id, project_id, limit=page.limit, offset=page.offset
    )
    jobs = await service.jobs_of(session, images)
    items = [
        await image_view(runtime, image, jobs.get(image.job_id) if image.job_id else None) for image in images
    ]
    return ImagePage(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/uploads/presign",
    responses=problems(
        401, 413, 422, describe={413: "Larger than STAGING_MAX_UPLOAD_BYTES (`upload_too_large`)"}
    ),
)
async def presign_upload(
    body: PresignRequest, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> PresignResponse:
    """A short-lived signed request to upload one photo straight to storage (not through this API)."""
    upload = await service.presign_upload(session, runtime, principal.user_id, body)
    return PresignResponse(
        method=upload.method,
        url=upload.url,
        fields=upload.fields,
        headers=upload.headers,
        key=upload.key,
        expires_at=upload.expires_at,
    )


@router.post("/images", status_code=202, responses=_SUBMIT)
async def create_image(
    body: ImageCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
    options: JobOptions,
) -> ImageAccepted:
    """Stage an uploaded photo; answers at once (the price is held, charged only when it is ready)."""
    image, job = await service.create_image(session, runtime, principal.user_id, body, options)
    status, _ = service.image_status(image, job)
    return ImageAccepted(image_id=image.id, job_id=job.id, status=status)


@router.get("/images/{image_id}", responses=_NOT_FOUND)
async def read_image(
    image_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> ImageView:
    """An image's status, with short-lived signed links to the original, the staged image and thumbnails."""
    image = await service.get_image(session, principal.user_id, image_id)
    jobs = await service.jobs_of(session, [image])
    return await image_view(runtime, image, jobs.get(image.job_id) if image.job_id else None)


@router.delete("/images/{image_id}", status_code=204, responses=_NOT_FOUND)
async def delete_image(
    image_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Delete an image and its stored files (the original too, unless another variant uses it)."""
    await service.delete_image(session, runtime, principal.user_id, image_id)
    return Response(status_code=204)


@router.post("/images/{image_id}/restage", status_code=202, responses=_SUBMIT)
async def restage_image(
    image_id: uuid.UUID,
    body: Restage,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
    options: JobOptions,
) -> ImageAccepted:
    """Stage the same photo again (another style or room type): a new image."""
    image, job = await service.restage_image(session, runtime, principal.user_id, image_id, body, options)
    status, _ = service.image_status(image, job)
    return ImageAccepted(image_id=image.id, job_id=job.id, status=status)
