"""Images and projects as the API shows them: status from the job while it runs, fresh signed links."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from conjure.apps.staging.models import ImageStatus, Project, StagedImage
from conjure.apps.staging.schemas import ImageError, ImageView, ProjectView
from conjure.apps.staging.service import image_status
from conjure.db import utcnow

if TYPE_CHECKING:
    from conjure.jobs.models import Job
    from conjure.runtime import Runtime


def project_view(project: Project, image_count: int) -> ProjectView:
    return ProjectView(
        id=project.id,
        name=project.name,
        image_count=image_count,
        created_at=project.created_at,
        updated_at=project.updated_at,
    )


async def image_view(runtime: Runtime, image: StagedImage, job: Job | None) -> ImageView:
    """The image with links valid for ``STORAGE_PRESIGN_TTL_SECONDS`` (once the worker stored them)."""
    status, error = image_status(image, job)
    view = ImageView(
        id=image.id,
        project_id=image.project_id,
        job_id=image.job_id,
        status=status,
        room_type=image.room_type,
        style=image.style,
        quality=image.quality,
        width=image.width,
        height=image.height,
        provider=image.provider,
        model=image.model,
        offline_preview=image.provider == "offline",
        error=ImageError(**error) if error else None,
        created_at=image.created_at,
        ready_at=image.ready_at,
    )
    ttl = runtime.settings.storage_presign_ttl_seconds
    sign = runtime.storage.presigned_get_url
    # Only the worker's display copy is shown (upright, no EXIF/GPS), never the raw upload.
    if image.display_key:
        view.original_url = await sign(image.display_key, expires_seconds=ttl)
    if image.thumbnail_key:
        view.original_thumbnail_url = await sign(image.thumbnail_key, expires_seconds=ttl)
    if status == ImageStatus.READY and image.staged_key and image.staged_thumbnail_key:
        view.staged_url = await sign(image.staged_key, expires_seconds=ttl)
        view.thumbnail_url = await sign(image.staged_thumbnail_key, expires_seconds=ttl)
    view.urls_expire_at = utcnow() + dt.timedelta(seconds=ttl)
    return view
