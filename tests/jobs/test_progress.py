"""Progress steps: one job's step that cannot be stored fails only that job's ``ctx.progress``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from conjure.jobs import progress as progress_module
from conjure.jobs.attempt import UnstorableProgress
from conjure.jobs.runner import Runner
from conjure.runtime import Runtime
from tests.jobs.conftest import claim_all, load, submit

GOOD = {"step": "s", "message": "fine", "data": {}}


@pytest.mark.parametrize(
    "bad",
    [
        {"step": "s", "message": "model said \x00", "data": {}},
        {"step": "s", "message": None, "data": {"score": float("nan")}},
    ],
)
async def test_an_unstorable_progress_step_fails_only_its_own_job(
    engine: Runtime, bad: dict[str, Any]
) -> None:
    jobs = [await submit(engine, "t.noop", {"n": i}) for i in range(3)]
    runner = Runner(engine, "worker-a")
    claims = await claim_all(runner, [job.id for job in jobs])
    results = await asyncio.gather(
        runner.steps.record(claims[0], GOOD),
        runner.steps.record(claims[1], bad),
        runner.steps.record(claims[2], GOOD),
        return_exceptions=True,
    )
    assert isinstance(results[1], UnstorableProgress)
    assert (results[0], results[2]) == (False, False)  # recorded, no cancel requested
    assert (await load(engine, jobs[0].id)).progress == GOOD
    assert (await load(engine, jobs[1].id)).progress is None


async def test_a_progress_batch_the_database_rejects_is_written_step_by_step(
    pg_redis: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the check up front, PostgreSQL rejects the whole statement: the steps are then
    # written one by one, so only the bad one fails.
    monkeypatch.setattr(progress_module, "progress_json", json.dumps)
    jobs = [await submit(pg_redis, "t.noop", {"n": i}) for i in range(3)]
    runner = Runner(pg_redis, "worker-a")
    claims = await claim_all(runner, [job.id for job in jobs])
    bad = {"step": "s", "message": "model said \x00", "data": {}}
    gate = asyncio.Event()
    original = runner.steps.store.record_progress
    sizes: list[int] = []

    async def record_progress(steps: list[Any], **kw: Any) -> Any:
        await gate.wait()  # let all three steps gather into one batch
        sizes.append(len(steps))
        return await original(steps, **kw)

    monkeypatch.setattr(runner.steps.store, "record_progress", record_progress)
    tasks = [
        asyncio.create_task(runner.steps.record(claim, step))
        for claim, step in zip(claims, [GOOD, bad, GOOD], strict=True)
    ]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert (results[0], results[2]) == (False, False)
    assert isinstance(results[1], Exception)
    assert max(sizes) > 1  # the batch was tried first
    assert (await load(pg_redis, jobs[2].id)).progress == GOOD
