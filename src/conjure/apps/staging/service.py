"""Staging rules: projects, presigned uploads, images (submit, read, restage, delete).

Errors: 404 ``not_found`` for another user's project, image or upload key (and
``upload_not_found`` for a key never uploaded), 413 ``upload_too_large``, 402
``insufficient_stars`` from the wallet hold, 409 ``idempotency_key_reused``, 429
``staging_quota_exhausted`` past the plan's monthly images (``conjure.apps.staging.quota``).
Stored objects are deleted after commit, and only those no remaining row uses.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.staging.keys import staged_keys
from conjure.apps.staging.models import ImageStatus, Project, StagedImage, Upload
from conjure.apps.staging.quota import month_quota
from conjure.apps.staging.schemas import EXTENSIONS, ImageCreate, PresignRequest, Restage
from conjure.apps.staging.settings import StagingSettings
from conjure.apps.staging.tasks import KIND
from conjure.db import after_commit, utcnow
from conjure.errors import NotFound
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.schemas import user_error
from conjure.jobs.service import end_queued_job
from conjure.kit.submit import SubmitOptions, submit_in
from conjure.settings import Settings
from conjure.storage.base import owns_upload, upload_key
from conjure.storage.uploads import PresignedUpload, UploadPolicy, UploadTooLarge

if TYPE_CHECKING:
    from conjure.runtime import Runtime


class UploadNotFound(NotFound):
    code = "upload_not_found"


class ProjectNotFound(NotFound):
    pass


class ImageNotFound(NotFound):
    pass


# A staging job another app submits on the person's behalf (the assistant's delegation: its payload
# names no project) gets its image in this project of theirs, made with the job.
DELEGATED_PROJECT = "From the assistant"


async def admit_delegated(session: AsyncSession, settings: Settings, job: Job) -> None:
    """The kind's ``on_submit``: a job submitted without a project (by another app) counts against
    the monthly quota and gets its image row in the submitting transaction, like one submitted here
    (:func:`_stage` does both itself for the staging routes' jobs, which name their project)."""
    payload, user_id = job.payload or {}, job.user_id
    if payload.get("project_id") or user_id is None:
        return
    key = str(payload.get("upload_key", ""))
    if not owns_upload(user_id, key):
        raise UploadNotFound("No such upload of yours.")
    now = utcnow()
    # The user's row stays locked to the end of the transaction, as in _stage: the edge holds.
    quota = await month_quota(session, settings, user_id, now, lock=True)
    if quota.exhausted:
        raise quota.refusal(now)
    project = await session.scalar(
        select(Project)
        .where(Project.user_id == user_id, Project.name == DELEGATED_PROJECT)
        .order_by(Project.created_at)
        .limit(1)
    )
    if project is None:
        project = await create_project(session, user_id, DELEGATED_PROJECT)
    session.add(
        StagedImage(
            user_id=user_id,
            project_id=project.id,
            job_id=job.id,
            status=ImageStatus.QUEUED,
            room_type=str(payload.get("room_type", "")),
            style=str(payload.get("style", "")),
            quality=str(payload.get("quality", "standard")),
            original_key=key,
        )
    )
    await session.flush()


# --- projects -------------------------------------------------------------------------------


async def create_project(session: AsyncSession, user_id: uuid.UUID, name: str) -> Project:
    """A new, empty project."""
    project = Project(user_id=user_id, name=name)
    session.add(project)
    await session.flush()
    return project


async def get_project(session: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID) -> Project:
    """The caller's project; another user's is "not found"."""
    project = await session.get(Project, project_id)
    if project is None or project.user_id != user_id:
        raise ProjectNotFound("No such project.")
    return project


async def list_projects(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[tuple[Project, int]], int]:
    """The caller's projects, newest first, each with its image count; and how many there are."""
    total = await session.scalar(select(func.count()).where(Project.user_id == user_id))
    counts = (
        select(StagedImage.project_id, func.count().label("n"))
        .where(StagedImage.user_id == user_id)
        .group_by(StagedImage.project_id)
        .subquery()
    )
    rows = await session.execute(
        select(Project, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.project_id == Project.id)
        .where(Project.user_id == user_id)
        .order_by(Project.created_at.desc(), Project.id)
        .limit(limit)
        .offset(offset)
    )
    return [(project, int(n)) for project, n in rows.all()], int(total or 0)


async def count_images(session: AsyncSession, project_id: uuid.UUID) -> int:
    return int(await session.scalar(select(func.count()).where(StagedImage.project_id == project_id)) or 0)


async def rename_project(
    session: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID, name: str
) -> Project:
    project = await get_project(session, user_id, project_id)
    project.name = name
    project.updated_at = utcnow()
    await session.flush()
    return project


async def delete_project(
    session: AsyncSession, runtime: Runtime, user_id: uuid.UUID, project_id: uuid.UUID
) -> None:
    """Delete the project and its images; their objects go once this commits."""
    project = await get_project(session, user_id, project_id)
    images = (
        (
            await session.execute(
                select(StagedImage).where(StagedImage.project_id == project.id).with_for_update()
            )
        )
        .scalars()
        .all()
    )
    await _remove_images(session, runtime, images)
    await session.delete(project)
    await session.flush()


# --- uploads --------------------------------------------------------------------------------


async def presign_upload(
    session: AsyncSession, runtime: Runtime, user_id: uuid.UUID, request: PresignRequest
) -> PresignedUpload:
    """A signed request to upload one photo straight to storage, under a fresh key of the caller's
    (recorded, so a key that is never staged can be cleaned up)."""
    settings = runtime.settings.for_app(StagingSettings)
    if request.size > settings.staging_max_upload_bytes:
        raise UploadTooLarge(f"Photos can be at most {settings.staging_max_upload_bytes} bytes.")
    policy = UploadPolicy(
        key=upload_key(user_id, EXTENSIONS[request.content_type]),
        content_type=request.content_type,
        max_bytes=settings.staging_max_upload_bytes,
        expires_seconds=settings.staging_upload_ttl_seconds,
    )
    presigned = await runtime.storage.presigned_upload(policy)
    session.add(Upload(key=policy.key, user_id=user_id))
    await session.flush()
    return presigned


async def check_upload(session: AsyncSession, runtime: Runtime, user_id: uuid.UUID, key: str) -> None:
    """404 unless ``key`` is one of the caller's presigned uploads and the object is there.

    The upload's row is locked until this transaction (which adds the image using it) ends, so
    the cleanup of unused uploads either skips it or has deleted it already (then: 404)."""
    if not owns_upload(user_id, key):
        raise UploadNotFound("No such upload.")
    recorded = await session.scalar(
        select(Upload.key).where(Upload.key == key, Upload.user_id == user_id).with_for_update()
    )
    if recorded is None:
        raise UploadNotFound("No such upload (it was never presigned, or it expired unused).")
    if not await runtime.storage.exists(key):
        raise UploadNotFound("Nothing was uploaded under this key; upload the photo first.")


# --- images ---------------------------------------------------------------------------------


async def create_image(
    session: AsyncSession,
    runtime: Runtime,
    user_id: uuid.UUID,
    request: ImageCreate,
    options: SubmitOptions,
) -> tuple[StagedImage, Job]:
    """Queue the staging of an uploaded photo: the image row and its job commit together."""
    project = await get_project(session, user_id, request.project_id)
    await check_upload(session, runtime, user_id, request.upload_key)
    return await _stage(
        session,
        runtime,
        user_id,
        project_id=project.id,
        original_key=request.upload_key,
        room_type=request.room_type,
        style=request.style,
        quality=request.quality,
        options=options,
        webhook_url=request.webhook,
    )


async def restage_image(
    session: AsyncSession,
    runtime: Runtime,
    user_id: uuid.UUID,
    image_id: uuid.UUID,
    request: Restage,
    options: SubmitOptions,
) -> tuple[StagedImage, Job]:
    """A new variant of the same photo (a new image row and job; the original is shared)."""
    # Locked, so a concurrent delete of the source cannot drop the original this variant needs.
    source = await get_image(session, user_id, image_id, lock=True)
    return await _stage(
        session,
        runtime,
        user_id,
        project_id=source.project_id,
        original_key=source.original_key,
        room_type=request.room_type or source.room_type,
        style=request.style or source.style,
        quality=request.quality or source.quality,
        options=options,
        webhook_url=request.webhook,
    )


async def _stage(
    session: AsyncSession,
    runtime: Runtime,
    user_id: uuid.UUID,
    *,
    project_id: uuid.UUID,
    original_key: str,
    room_type: str,
    style: str,
    quality: str,
    options: SubmitOptions,
    webhook_url: str | None,
) -> tuple[StagedImage, Job]:
    payload = {
        "project_id": str(project_id),
        "upload_key": original_key,
        "room_type": room_type,
        "style": style,
        "quality": quality,
    }
    # The user's row stays locked to the end of this transaction: a concurrent submit waits, then
    # counts this one's image (the monthly quota cannot be passed twice at its edge).
    now = utcnow()
    quota = await month_quota(session, runtime.settings, user_id, now, lock=True)
    # In this transaction: the job is dispatched only once its image row has committed with it.
    job = await submit_in(
        session, runtime, options, user_id=user_id, kind=KIND, payload=payload, webhook_url=webhook_url
    )
    # A replayed Idempotency-Key or an identical request still in flight returns its job: and its image.
    existing = await session.scalar(select(StagedImage).where(StagedImage.job_id == job.id))
    if existing is not None:
        return existing, job
    if quota.exhausted:
        # A new image past the quota: the job just inserted rolls back with this error.
        raise quota.refusal(now)
    image = StagedImage(
        user_id=user_id,
        project_id=project_id,
        job_id=job.id,
        status=ImageStatus.QUEUED,
        room_type=room_type,
        style=style,
        quality=quality,
        original_key=original_key,
    )
    session.add(image)
    await session.flush()
    return image, job


async def get_image(
    session: AsyncSession, user_id: uuid.UUID, image_id: uuid.UUID, *, lock: bool = False
) -> StagedImage:
    """The caller's image; another user's is "not found"."""
    query = select(StagedImage).where(StagedImage.id == image_id)
    if lock:
        query = query.with_for_update()
    image = await session.scalar(query)
    if image is None or image.user_id != user_id:
        raise ImageNotFound("No such image.")
    return image


async def list_images(
    session: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[Sequence[StagedImage], int]:
    """A project's images, newest first."""
    project = await get_project(session, user_id, project_id)
    total = await count_images(session, project.id)
    rows = await session.execute(
        select(StagedImage)
        .where(StagedImage.project_id == project.id)
        .order_by(StagedImage.created_at.desc(), StagedImage.id)
        .limit(limit)
        .offset(offset)
    )
    return rows.scalars().all(), total


async def jobs_of(session: AsyncSession, images: Sequence[StagedImage]) -> dict[uuid.UUID, Job]:
    """The jobs of images not finished yet (their status is the job's)."""
    ids = [i.job_id for i in images if i.job_id and i.status in (ImageStatus.QUEUED, ImageStatus.PROCESSING)]
    if not ids:
        return {}
    rows = await session.execute(select(Job).where(Job.id.in_(ids)))
    return {job.id: job for job in rows.scalars().all()}


async def delete_image(
    session: AsyncSession, runtime: Runtime, user_id: uuid.UUID, image_id: uuid.UUID
) -> None:
    """Delete one image; its objects (and the original, if no other variant uses it) go after commit."""
    image = await get_image(session, user_id, image_id, lock=True)
    await _remove_images(session, runtime, [image])


async def _remove_images(session: AsyncSession, runtime: Runtime, images: Sequence[StagedImage]) -> None:
    if not images:
        return
    ids = [image.id for image in images]
    await session.execute(delete(StagedImage).where(StagedImage.id.in_(ids)))
    originals = {image.original_key for image in images}
    still_used = set(
        (
            await session.execute(
                select(StagedImage.original_key).where(StagedImage.original_key.in_(originals)).distinct()
            )
        ).scalars()
    )
    keys = [key for key in originals if key not in still_used]
    for image in images:
        keys += [
            k
            for k in (image.display_key, image.staged_key, image.thumbnail_key, image.staged_thumbnail_key)
            if k
        ]
        if image.status != ImageStatus.READY and image.job_id is not None:
            # What a job that did not finish may have stored already (its row names none of it).
            keys += [k for k in staged_keys(image.user_id, image.job_id).values() if k not in keys]
        await _cancel_if_queued(session, runtime, image.job_id)
    delete_objects_after_commit(session, runtime, keys)


async def _cancel_if_queued(session: AsyncSession, runtime: Runtime, job_id: uuid.UUID | None) -> None:
    """A deleted image's job that no worker holds (queued, or waiting on Replicate) is canceled
    (its hold released); a running one finds no row to fill."""
    job = await session.get(Job, job_id) if job_id else None
    if job is not None and job.status in (JobStatus.QUEUED, JobStatus.WAITING):
        await end_queued_job(
            session,
            runtime,
            job,
            status=JobStatus.CANCELED,
            code="canceled",
            message="The image was deleted.",
        )


def delete_objects_after_commit(session: AsyncSession, runtime: Runtime, keys: Sequence[str]) -> None:
    """Delete these objects once the rows that named them are gone for good."""
    if not keys:
        return
    targets = list(keys)

    async def remove() -> None:
        for key in targets:
            await runtime.storage.delete(key)

    after_commit(session, remove)


def image_status(image: StagedImage, job: Job | None) -> tuple[str, dict[str, Any] | None]:
    """The image's status (a job still running decides it), and its error once failed; an image
    whose job its owner canceled (error code ``canceled``, not a start deadline's ``deadline``)
    shows ``canceled``: not a failure to report."""
    if image.status == ImageStatus.READY or (image.status != ImageStatus.FAILED and job is None):
        return image.status, None
    if image.status == ImageStatus.FAILED:
        error = {"code": image.error_code or "failed", "message": image.error or "Staging failed."}
    elif job is not None and job.status in (JobStatus.FAILED, JobStatus.DLQ, JobStatus.CANCELED):
        told = user_error(job)  # a DLQ job's is final, not its last attempt's "retrying"
        error = (
            {"code": str(job.status), "message": f"The staging job {job.status}."}
            if told is None
            else {"code": told.code, "message": told.message}
        )
    elif job is not None and job.status == JobStatus.QUEUED:
        return ImageStatus.QUEUED, None
    else:
        return ImageStatus.PROCESSING, None
    return (ImageStatus.CANCELED if error["code"] == "canceled" else ImageStatus.FAILED), error


def signed_until(runtime: Runtime) -> tuple[int, dt.datetime]:
    ttl = runtime.settings.storage_presign_ttl_seconds
    return ttl, utcnow() + dt.timedelta(seconds=ttl)


# --- account deletion and data export (AppSpec.erase_user / export_user) -----------------


async def erase_user_staging(session: AsyncSession, user_id: uuid.UUID, settings: Settings) -> list[str]:
    """Account deletion: the person's projects and images go; every stored object's key is returned.

    The platform cancels the person's queued jobs and deletes the returned objects after commit.
    """
    images = (await session.execute(select(StagedImage).where(StagedImage.user_id == user_id))).scalars()
    keys: set[str] = set()
    for image in images:
        keys.update(
            key
            for key in (
                image.original_key,
                image.display_key,
                image.staged_key,
                image.thumbnail_key,
                image.staged_thumbnail_key,
            )
            if key
        )
    await session.execute(delete(StagedImage).where(StagedImage.user_id == user_id))
    await session.execute(delete(Project).where(Project.user_id == user_id))
    return sorted(keys)


async def export_user_staging(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """The person's projects and images (settings, status, stored objects) for their data export."""
    projects = (
        await session.execute(select(Project).where(Project.user_id == user_id).order_by(Project.created_at))
    ).scalars()
    images = (
        await session.execute(
            select(StagedImage).where(StagedImage.user_id == user_id).order_by(StagedImage.created_at)
        )
    ).scalars()
    return {
        "projects": [
            {"id": str(p.id), "name": p.name, "created_at": p.created_at.isoformat()} for p in projects
        ],
        "images": [
            {
                "id": str(i.id),
                "project_id": str(i.project_id),
                "status": i.status,
                "room_type": i.room_type,
                "style": i.style,
                "original_key": i.original_key,
                "staged_key": i.staged_key,
                "created_at": i.created_at.isoformat(),
            }
            for i in images
        ],
    }
