"""Regressions from the review of the worker's group commit: one job's bad progress step, a
locked payer row and a zombie's lost claim each cost only the job concerned."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from conjure.jobs import context
from conjure.jobs.context import Claim, UnstorableProgress
from conjure.jobs.runner import Runner
from conjure.jobs.types import Delivery
from conjure.runtime import Runtime
from tests.jobs.conftest import load, submit


async def claim_all(runner: Runner, job_ids: list[uuid.UUID]) -> list[Claim]:
    deliveries = [Delivery(job_id=job_id, ref=f"{i + 1}-0") for i, job_id in enumerate(job_ids)]
    claims, skipped = await runner.claim(deliveries)
    assert skipped == []
    return sorted(claims, key=lambda c: job_ids.index(c.job_id))


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
    monkeypatch.setattr(context, "progress_json", json.dumps)
    jobs = [await submit(pg_redis, "t.noop", {"n": i}) for i in range(3)]
    runner = Runner(pg_redis, "worker-a")
    claims = await claim_all(runner, [job.id for job in jobs])
    bad = {"step": "s", "message": "model said \x00", "data": {}}
    gate = asyncio.Event()
    original = runner.steps._write_once
    sizes: list[int] = []

    async def write_once(steps: list[Any], now: Any) -> Any:
        await gate.wait()  # let all three steps gather into one batch
        sizes.append(len(steps))
        return await original(steps, now)

    monkeypatch.setattr(runner.steps, "_write_once", write_once)
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
