"""An attempt's time limit comes from settings: MAX_PROCESSING_TIME_MS, or the kind's own setting."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from conjure.apps.imagegen.spec import GENERATE
from conjure.apps.staging.spec import STAGE
from conjure.apps.tarot.spec import READING
from conjure.jobs.models import JobAttempt, JobStatus
from conjure.settings import Settings
from tests.jobs.conftest import MakeRuntime, running, submit, wait_status


async def test_the_worker_stops_a_job_at_the_configured_limit(
    make_runtime: MakeRuntime, backend: dict[str, str]
) -> None:
    runtime = await make_runtime(**backend, max_processing_time_ms=300, t_job_timeout_seconds=0.4)
    platform_bound = await submit(runtime, "t.slow", {"seconds": 20})
    own_bound = await submit(runtime, "t.slow_own", {"seconds": 20})
    async with running(runtime):
        by_platform = await wait_status(runtime, platform_bound.id, JobStatus.DLQ)
        by_own = await wait_status(runtime, own_bound.id, JobStatus.DLQ)
    assert (by_platform.error_code, by_platform.last_error) == ("timeout", "The job took longer than 0.3 s.")
    assert (by_own.error_code, by_own.last_error) == ("timeout", "The job took longer than 0.4 s.")
    async with runtime.db.session() as session:
        times = (
            await session.scalars(
                select(JobAttempt.processing_time_ms).where(
                    JobAttempt.job_id.in_([platform_bound.id, own_bound.id])
                )
            )
        ).all()
    assert len(times) == 2
    assert all(t is not None and t < 10_000 for t in times)  # stopped, not slept out


def test_installed_kinds_take_their_limit_from_settings(make_settings: Callable[..., Settings]) -> None:
    default = make_settings()
    assert READING.time_limit(default) == 30.0  # MAX_PROCESSING_TIME_MS's default
    assert GENERATE.time_limit(default) == 180.0  # IMAGE_JOB_TIMEOUT_SECONDS's default
    assert STAGE.time_limit(default) == 300.0  # STAGING_JOB_TIMEOUT_SECONDS's default
    tuned = make_settings(
        max_processing_time_ms=12_500, image_job_timeout_seconds=45, staging_job_timeout_seconds=90
    )
    assert READING.time_limit(tuned) == 12.5
    assert GENERATE.time_limit(tuned) == 45.0
    assert STAGE.time_limit(tuned) == 90.0
