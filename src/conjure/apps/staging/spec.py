"""What the staging app (seed 001, Real Staging AI) adds to the platform: its routes and the staging job."""

from __future__ import annotations

from conjure.apps.staging.pages import router as page_router
from conjure.apps.staging.router import router
from conjure.apps.staging.service import erase_user_staging, export_user_staging
from conjure.apps.staging.settings import StagingSettings
from conjure.apps.staging.tasks import KIND, save_staged_image, stage_image
from conjure.apps.staging.webhooks import router as webhook_router
from conjure.jobs.registry import JobKind
from conjure.kit.spec import AppSpec
from conjure.settings import Settings

# A JobKind's price is a fixed value, known before any Settings object exists, so it is read
# from the environment at import (STAGING_PRICE_STARS); values given to Settings(...) in code do
# not reach it. The time limit is read per runtime (JobKind.timeout).
_SETTINGS = StagingSettings()


def time_limit(settings: Settings) -> float:
    """STAGING_JOB_TIMEOUT_SECONDS: a Replicate prediction (~9 s for qwen) may wait for its
    webhook, then fall back to polling."""
    return settings.for_app(StagingSettings).staging_job_timeout_seconds


STAGE = JobKind(
    name=KIND,
    handler=stage_image,
    price_stars=_SETTINGS.staging_price_stars,
    timeout=time_limit,
    on_success=save_staged_image,
    description="Virtually stage one room photo and store it with thumbnails.",
)

APP = AppSpec(
    name="staging",
    routers=[router, webhook_router, page_router],
    job_kinds=[STAGE],
    erase_user=erase_user_staging,
    export_user=export_user_staging,
)
