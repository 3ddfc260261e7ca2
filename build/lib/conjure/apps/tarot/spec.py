"""What the tarot app adds to the platform: its routes and the ``tarot.reading`` job kind."""

from __future__ import annotations

from conjure.apps.tarot.pipeline import packaged_prompt_version
from conjure.apps.tarot.router import router
from conjure.apps.tarot.service import erase_user_readings, export_user_readings
from conjure.apps.tarot.tasks import KIND, run_reading, save_reading
from conjure.jobs.registry import JobKind
from conjure.kit.spec import AppSpec

READING = JobKind(
    name=KIND,
    handler=run_reading,
    price_stars=1,
    # No limit of its own: MAX_PROCESSING_TIME_MS (30 s by default) bounds a reading.
    on_success=save_reading,
    prompt_version=packaged_prompt_version,
    description="A tarot reading (seed 000): filter → analyze → draw → read → format.",
)

APP = AppSpec(
    name="tarot",
    routers=[router],
    job_kinds=[READING],
    erase_user=erase_user_readings,
    export_user=export_user_readings,
)
