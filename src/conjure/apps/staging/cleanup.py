"""Deleting uploads that were never staged: a client may presign and upload a photo and never ask
for it to be staged. Once such an upload is ``STAGING_UPLOAD_RETENTION_SECONDS`` old and no image
uses it, its row and its object go; an upload an image row uses is never touched.

Run by every worker process's scheduler (the app's periodic task, ``AppSpec.periodic``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import httpx
import structlog
from sqlalchemy import delete, exists, select

from conjure.apps.staging.models import Prediction, StagedImage, Upload
from conjure.apps.staging.replicate import ReplicateStaging, is_transient
from conjure.apps.staging.settings import StagingSettings
from conjure.apps.staging.webhooks import DONE, record_prediction_end
from conjure.db import utcnow
from conjure.jobs.models import TERMINAL_STATUSES, Job

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


def cancel_sweep_every(settings: Settings) -> float:
    return settings.for_app(StagingSettings).staging_cancel_sweep_seconds


async def cancel_abandoned_predictions(runtime: AppRuntime) -> int:
    """Cancel the Replicate predictions still running for jobs that ended (canceled, failed, timed
    out, dead-lettered); how many. A job can end while its prediction runs (a cancel, a deadline,
    a worker's time limit), and Replicate bills the prediction to the end unless told to stop.

    The prediction's end is recorded from Replicate's answer, so a sweep asks once; a transport
    error or a 5xx leaves it for the next sweep. Several processes sweeping at once may ask twice,
    which Replicate answers alike.
    """
    settings = runtime.settings.for_app(StagingSettings)
    if settings.staging_provider != "replicate" or settings.replicate_api_token is None:
        return 0
    ended = [status.value for status in TERMINAL_STATUSES]
    async with runtime.db.session() as session:
        abandoned = list(
            await session.scalars(
                select(Prediction.id)
                .join(Job, Job.id == Prediction.job_id)
                .where(Prediction.completed_at.is_(None), Job.status.in_(ended))
                .order_by(Prediction.created_at)
                .limit(BATCH)
            )
        )
    if not abandoned:
        return 0
    canceled = 0
    async with ReplicateStaging(settings).api_client() as client:
        for prediction_id in abandoned:
            try:
                response = await client.post(f"/v1/predictions/{prediction_id}/cancel")
            except httpx.TransportError:
                continue
            if is_transient(response.status_code):
                continue
            # 200: its state now (canceled, or how it ended meanwhile); 404 and other refusals: it
            # is gone for us either way, so it is recorded ended and not asked again.
            answer = response.json() if response.status_code == 200 else {}
            if answer.get("status") not in DONE:
                answer = {
                    "id": prediction_id,
                    "status": "canceled",
                    "error": f"cancel: {response.status_code}",
                }
            async with runtime.db.session() as session:
                canceled += await record_prediction_end(session, runtime.db.is_sqlite, answer)
    if canceled:
        log.info("staging_predictions_canceled", count=canceled)
    return canceled
