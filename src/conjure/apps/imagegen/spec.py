"""What the imagegen app (seed 004, PixelPop) adds to the platform: its routes and the image job."""

from __future__ import annotations

from conjure.apps.imagegen.router import router
from conjure.apps.imagegen.service import PRICE_STARS, save_generation
from conjure.apps.imagegen.tasks import KIND, generate_image
from conjure.jobs.registry import JobKind
from conjure.kit.spec import AppSpec

GENERATE = JobKind(
    name=KIND,
    handler=generate_image,
    price_stars=PRICE_STARS,
    # Image models are slow (gpt-image often 30-60 s); the download and store come on top.
    timeout_seconds=180,
    on_success=save_generation,
    description="Generate one image from a prompt and store it as PNG.",
)

APP = AppSpec(name="imagegen", routers=[router], job_kinds=[GENERATE])
