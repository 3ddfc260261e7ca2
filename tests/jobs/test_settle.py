"""Settling in groups on PostgreSQL: a locked payer row, a lock timeout or a failed batch costs
only the jobs concerned; the others of the batch settle without waiting for them."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text

from conjure.jobs.models import JobStatus
from conjure.jobs.runner import Runner
from conjure.jobs.store import postgres as postgres_store
from conjure.runtime import Runtime
from conjure.users.models import User
from tests.factories import make_user
from tests.jobs.conftest import claim_all, load, submit, wait_until


async def balances(runtime: Runtime, *users: User) -> list[tuple[int, int]]:
    async with runtime.db.session() as session:
        rows = [await session.get(User, user.id) for user in users]
    return [(u.star_balance, u.stars_held) for u in rows if u is not None]


async def settled(runtime: Runtime, job_id: uuid.UUID) -> bool:
    return (await load(runtime, job_id)).status != JobStatus.PROCESSING


async def test_a_locked_payer_row_holds_up_only_that_payers_jobs(
    pg_redis: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_store, "LOCK_TIMEOUT_MS", 120_000)  # the payer's job just waits here
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
    monkeypatch.setattr(postgres_store, "LOCK_TIMEOUT_MS", 100)
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
    monkeypatch.setattr(postgres_store, "LOCK_TIMEOUT_MS", 100)
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
