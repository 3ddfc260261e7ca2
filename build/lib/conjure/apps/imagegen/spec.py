"""What the imagegen app (seed 004, PixelPop) adds to the platform: its routes and the image job."""

from __future__ import annotations

from conjure.apps.imagegen.router import router
from conjure.apps.imagegen.service import (
    PRICE_STARS,
    erase_user_generations,
    export_user_generations,
    save_generation,
)
from conjure.apps.imagegen.settings import ImagegenSettings
from conjure.apps.imagegen.tasks import KIND, generate_image
from conjure.jobs.registry import JobKind
from conjure.kit.spec import AppSpec
from conjure.settings import Settings


def time_limit(settings: Settings) -> float:
    """IMAGE_JOB_TIMEOUT_SECONDS: image models are slower than the platform's default limit."""
    return settings.for_app(ImagegenSettings).image_job_timeout_seconds


GENERATE = JobKind(
    name=KIND,
    handler=generate_image,
    price_stars=PRICE_STARS,
    timeout=time_limit,
    on_success=save_generation,
    description="Generate one image from a prompt and store it as PNG.",
)

APP = AppSpec(
    name="imagegen",
    routers=[router],
    job_kinds=[GENERATE],
    erase_user=erase_user_generations,
    export_user=export_user_generations,
)
