"""The worker's slots: a running handler holds one; a job waiting for its batched settle does not."""

from __future__ import annotations

import asyncio
from typing import Any

from conjure.jobs.models import JobStatus
from conjure.jobs.worker import Worker
from conjure.runtime import Runtime
from tests.jobs import kinds
from tests.jobs.conftest import submit, wait_status, wait_until


async def test_next_job_runs_while_the_last_one_settles(engine: Runtime) -> None:
    jobs = [await submit(engine, "t.noop", {"n": i}) for i in range(3)]
    worker = Worker(engine, worker_id="slots", concurrency=1)
    gate = asyncio.Event()
    write_batch = worker.runner._write_batch

    async def held(batch: list[Any], now: Any) -> Any:
        await gate.wait()  # the database is slow to settle
        return await write_batch(batch, now)

    worker.runner._write_batch = held  # type: ignore[method-assign]
    await worker.start()
    try:

        async def two_handled() -> bool:
            return all(kinds.CALLS.get(str(job.id)) == 1 for job in jobs[:2])

        await wait_until(two_handled, what="the second handler to run while the first settles")
        # One handler slot, and at most as many jobs again waiting for their settle: full.
        assert worker.free_slots == 0
        assert str(jobs[2].id) not in kinds.CALLS
        gate.set()
        for job in jobs:
            await wait_status(engine, job.id, JobStatus.SUCCEEDED)
    finally:
        gate.set()
        await worker.stop(grace=5)
