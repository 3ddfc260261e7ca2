"""A provider's Retry-After holds the job back at least that long (both backends): the retry is
queued with its ``run_at`` past the provider's wait, and the attempt is not run again sooner."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from conjure.db import utcnow
from conjure.jobs.models import JobEvent, JobStatus
from conjure.jobs.runner import Runner
from conjure.runtime import Runtime
from tests.jobs.conftest import claim_all, load, submit


async def test_a_retry_after_delays_the_jobs_retry_at_least_that_long(engine: Runtime) -> None:
    job = await submit(engine, "t.rate_limited", {"retry_after": 20})
    runner = Runner(engine, "worker-a")
    [claim] = await claim_all(runner, [job.id])
    before = utcnow()
    await asyncio.wait_for(runner.run(claim), 30)
    retried = await load(engine, job.id)
    assert (retried.status, retried.attempts, retried.error_code) == (
        JobStatus.QUEUED,
        1,
        "provider_unavailable",
    )
    assert retried.run_at >= before + dt.timedelta(seconds=20)  # the backoff alone would be ≤ 2 s
    async with engine.db.session() as session:
        data = await session.scalar(
            select(JobEvent.data).where(JobEvent.job_id == job.id, JobEvent.type == "retrying")
        )
    assert data is not None
    assert data["delay_seconds"] >= 20
    # Not claimable before its time: a second worker finds nothing to take.
    claims, _ = await Runner(engine, "worker-b").claim([claim.delivery])
    assert claims == []
