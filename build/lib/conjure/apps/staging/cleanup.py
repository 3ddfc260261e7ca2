"""Deleting uploads that were never staged: a client may presign and upload a photo and never ask
for it to be staged. Once such an upload is ``STAGING_UPLOAD_RETENTION_SECONDS`` old and no image
uses it, its row and its object go; an upload an image row uses is never touched.

Run by every worker process's scheduler (the app's periodic task, ``AppSpec.periodic``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import delete, exists, select

from conjure.apps.staging.models import StagedImage, Upload
from conjure.apps.staging.settings import StagingSettings
from conjure.db import utcnow

if TYPE_CHECKING:
    from conjure.kit.spec import AppRuntime
    from conjure.settings import Settings

log = structlog.get_logger("conjure.apps.staging.cleanup")
BATCH = 200


def cleanup_every(settings: Settings) -> float:
    """How often the scheduler looks: a tenth of the retention, between a second and an hour."""
    retention = settings.for_app(StagingSettings).staging_upload_retention_seconds
    return min(max(retention / 10, 1.0), 3600.0)


async def delete_unused_uploads(runtime: AppRuntime) -> int:
    """Delete old uploads no image uses (rows first, objects once that commits); how many."""
    retention = runtime.settings.for_app(StagingSettings).staging_upload_retention_seconds
    cutoff = utcnow() - dt.timedelta(seconds=retention)
    async with runtime.db.session() as session:
        # Locked first, skipping rows a request holds: ``check_upload`` locks the upload it is
        # about to stage, so it either commits its image before this looks, or finds the row gone.
        candidates = list(
            await session.scalars(
                select(Upload.key)
                .where(Upload.created_at < cutoff)
                .order_by(Upload.created_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        if not candidates:
            return 0
        # A statement of its own (a fresh snapshot on PostgreSQL): images committed meanwhile count.
        unused = list(
            await session.scalars(
                delete(Upload)
                .where(
                    Upload.key.in_(candidates),
                    ~exists().where(StagedImage.original_key == Upload.key),
                )
                .returning(Upload.key)
            )
        )
    for key in unused:
        await runtime.storage.delete(key)
    if unused:
        log.info("staging_uploads_deleted", count=len(unused))
    return len(unused)
