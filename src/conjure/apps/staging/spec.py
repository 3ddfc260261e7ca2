"""What the staging app (seed 001, Real Staging AI) adds to the platform: its routes and the staging job."""

from __future__ import annotations

from conjure.apps.staging.cleanup import (
    cancel_abandoned_predictions,
    cancel_sweep_every,
    cleanup_every,
    delete_unused_uploads,
)
from conjure.apps.staging.pages import router as page_router
from conjure.apps.staging.router import router
from conjure.apps.staging.service import admit_delegated, erase_user_staging, export_user_staging
from conjure.apps.staging.settings import StagingSettings
from conjure.apps.staging.tasks import KIND, mark_image_failed, save_staged_image, stage_image
from conjure.apps.staging.webhooks import router as webhook_router
from conjure.jobs.registry import JobKind
from conjure.kit.spec import AppSpec, PeriodicTask
from conjure.settings import Settings


def price(settings: Settings) -> int:
    """STAGING_PRICE_STARS, read from the running settings at each submit."""
    return settings.for_app(StagingSettings).staging_price_stars


def time_limit(settings: Settings) -> float:
    """STAGING_JOB_TIMEOUT_SECONDS, the limit of each run (a Replicate job waits for its model
    parked, holding no worker: that wait has STAGING_WAIT_DEADLINE_SECONDS)."""
    return settings.for_app(StagingSettings).staging_job_timeout_seconds


STAGE = JobKind(
    name=KIND,
    handler=stage_image,
    price=price,
    timeout=time_limit,
    on_success=save_staged_image,
    on_failure=mark_image_failed,
    on_submit=admit_delegated,
    description="Virtually stage one room photo and store it with thumbnails.",
)

CLEANUP = PeriodicTask("staging.delete_unused_uploads", delete_unused_uploads, cleanup_every)
CANCEL_SWEEP = PeriodicTask(
    "staging.cancel_abandoned_predictions", cancel_abandoned_predictions, cancel_sweep_every
)

APP = AppSpec(
    name="staging",
    routers=[router, webhook_router, page_router],
    job_kinds=[STAGE],
    periodic=[CLEANUP, CANCEL_SWEEP],
    erase_user=erase_user_staging,
    export_user=export_user_staging,
)
