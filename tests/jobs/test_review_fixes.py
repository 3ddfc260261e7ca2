"""Regressions from the review of the worker's group commit: one job's bad progress step, a
locked payer row and a zombie's lost claim each cost only the job concerned."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from conjure.jobs import context
from conjure.jobs import runner as runner_module
from conjure.jobs.context import Claim, UnstorableProgress
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.runner import Runner
from conjure.runtime import Runtime
from conjure.users.models import User
from tests.factories import make_user
from tests.jobs.conftest import claim_all, expire_lease, load, submit, wait_until

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


async def rescue(runtime: Runtime) -> tuple[Job, Claim, Claim, Runner, Runner]:
    """A job whose first worker stalled past its lease and was taken over (the same entry)."""
    job = await submit(runtime, "t.noop", {"n": 1})
    [delivery] = await runtime.broker.fetch("zombie", 10, 100)
    zombie, rescuer = Runner(runtime, "zombie"), Runner(runtime, "rescuer")
    [zclaim], _ = await zombie.claim([delivery])
    await expire_lease(runtime, job.id)
    [taken] = await runtime.broker.reclaim("rescuer", 0, 10)
    assert taken.ref == delivery.ref  # XAUTOCLAIM keeps the entry id
    [rclaim], _ = await rescuer.claim([taken])
    return job, zclaim, rclaim, zombie, rescuer


async def test_a_lost_claim_leaves_the_rescuers_entry_pending(engine: Runtime) -> None:
    job, zclaim, rclaim, zombie, rescuer = await rescue(engine)
    await zombie.run(zclaim)  # the zombie wakes up, finds its claim lost and acknowledges
    assert (await load(engine, job.id)).status == JobStatus.PROCESSING
    assert (await engine.broker.stats()).pending == 1  # still reclaimable should the rescuer die
    await rescuer.run(rclaim)
    assert (await load(engine, job.id)).status == JobStatus.SUCCEEDED
    assert (await engine.broker.stats()).pending == 0


async def test_a_zombies_heartbeat_does_not_take_the_entry_back(engine: Runtime) -> None:
    job, zclaim, rclaim, zombie, rescuer = await rescue(engine)
    await zombie.heartbeat([zclaim])  # not its job any more: neither lease nor entry
    await zombie.run(zclaim)
    assert (await engine.broker.stats()).pending == 1
    assert (await load(engine, job.id)).worker_id == "rescuer"
    await rescuer.run(rclaim)
    assert (await engine.broker.stats()).pending == 0


async def balances(runtime: Runtime, *users: User) -> list[tuple[int, int]]:
    async with runtime.db.session() as session:
        rows = [await session.get(User, user.id) for user in users]
    return [(u.star_balance, u.stars_held) for u in rows if u is not None]


async def settled(runtime: Runtime, job_id: uuid.UUID) -> bool:
    return (await load(runtime, job_id)).status != JobStatus.PROCESSING


async def test_a_locked_payer_row_holds_up_only_that_payers_jobs(
    pg_redis: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "LOCK_TIMEOUT_MS", 120_000)  # the payer's job just waits here
    u1, u2 = await make_user(pg_redis, stars=1), await make_user(pg_redis, stars=1)
    j1 = await submit(pg_redis, "t.paid", {"n": 1}, user=u1)
    j2 = await submit(pg_redis, "t.paid", {"n": 2}, user=u2)
    j3 = await submit(pg_redis, "t.noop", {"n": 3})
    runner = Runner(pg_redis, "worker-a")
    claims = await claim_all(runner, [j1.id, j2.id, j3.id])
    async with pg_redis.db.session() as locker:  # a slow request holding u1's row
        await locker.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": u1.id})
        tasks = [asyncio.create_task(runner.run(claim)) for claim in claims]
        await wait_until(lambda: settled(pg_redis, j2.id), 30, "the other payer's job")
        await wait_until(lambda: settled(pg_redis, j3.id), 30, "the free job")
        assert not await settled(pg_redis, j1.id)  # waits for its payer's row
        await asyncio.wait_for(runner.drain(), 30)  # nor does the group commit wait for it
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    assert [(await load(pg_redis, j.id)).status for j in (j1, j2, j3)] == [JobStatus.SUCCEEDED] * 3
    assert await balances(pg_redis, u1, u2) == [(0, 0), (0, 0)]


async def test_a_payer_row_locked_past_the_lock_timeout_retries_only_its_job(
    pg_redis: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "LOCK_TIMEOUT_MS", 100)
    u1, u2 = await make_user(pg_redis, stars=1), await make_user(pg_redis, stars=1)
    j1 = await submit(pg_redis, "t.paid", {"n": 1}, user=u1)
    j2 = await submit(pg_redis, "t.paid", {"n": 2}, user=u2)
    runner = Runner(pg_redis, "worker-a")
    claims = await claim_all(runner, [j1.id, j2.id])
    async with pg_redis.db.session() as locker:
        await locker.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": u1.id})
        await asyncio.wait_for(asyncio.gather(*(runner.run(claim) for claim in claims)), 60)
    retried, done = await load(pg_redis, j1.id), await load(pg_redis, j2.id)
    # Its success could not be captured in time: nothing of it was committed, it runs again.
    assert (retried.status, retried.error_code, retried.worker_id) == (
        JobStatus.QUEUED,
        "finish_failed",
        None,
    )
    assert done.status == JobStatus.SUCCEEDED
    assert await balances(pg_redis, u1, u2) == [(1, 1), (0, 0)]  # u1's hold is kept for the retry


async def test_a_batch_that_times_out_on_a_lock_settles_the_others_on_their_own(
    pg_redis: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "LOCK_TIMEOUT_MS", 100)
    users = [await make_user(pg_redis, stars=1) for _ in range(3)]
    jobs = [await submit(pg_redis, "t.paid", {"n": i}, user=user) for i, user in enumerate(users)]
    runner = Runner(pg_redis, "worker-a")
    claims = await claim_all(runner, [job.id for job in jobs])
    async with pg_redis.db.session() as locker:  # a row the batch statement itself must wait for
        await locker.execute(text("SELECT id FROM jobs WHERE id = :id FOR UPDATE"), {"id": jobs[1].id})
        results = await asyncio.wait_for(
            asyncio.gather(*(runner.run(claim) for claim in claims), return_exceptions=True), 60
        )
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], Exception)  # left pending, reclaimed after the visibility timeout
    statuses = [(await load(pg_redis, job.id)).status for job in jobs]
    assert statuses == [JobStatus.SUCCEEDED, JobStatus.PROCESSING, JobStatus.SUCCEEDED]
    assert await balances(pg_redis, *users) == [(0, 0), (1, 1), (0, 0)]
