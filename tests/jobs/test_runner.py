"""Group commit in the runner: attempts and progress steps of concurrent jobs written together,
each under its own claim, with a failing job settled on its own (both backends)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select, text

from conjure.jobs.attempt import LostClaim, Outcome
from conjure.jobs.models import Job, JobAttempt, JobEvent, JobStatus
from conjure.jobs.runner import Runner
from conjure.jobs.types import GroupCommit
from conjure.runtime import Runtime
from conjure.users.models import User
from tests.factories import make_user
from tests.jobs.conftest import claim_all, expire_lease, load, submit


async def events_of(runtime: Runtime, job_id: uuid.UUID) -> list[tuple[int, str]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(JobEvent.seq, JobEvent.type).where(JobEvent.job_id == job_id).order_by(JobEvent.seq)
        )
        return [(seq, type_) for seq, type_ in rows.all()]


def record_batches(runner: Runner, method: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Spy on one of the job store's batch writers (``settle``, ``record_progress``): the size of
    every batch it is given."""
    target = runner.settler.store
    sizes: list[int] = []
    original = getattr(target, method)

    async def spy(batch: list[Any], *args: Any, **kwargs: Any) -> Any:
        sizes.append(len(batch))
        return await original(batch, *args, **kwargs)

    monkeypatch.setattr(target, method, spy)
    return sizes


async def test_group_commit_batches_what_waits_and_fails_only_its_callers() -> None:
    flushed: list[list[int]] = []
    gate = asyncio.Event()

    async def flush(items: list[int]) -> list[int | BaseException]:
        flushed.append(items)
        await gate.wait()
        if 13 in items and len(items) == 1:
            raise RuntimeError("the whole batch failed")
        return [ValueError(f"bad {i}") if i < 0 else i * 10 for i in items]

    commit: GroupCommit[int, int] = GroupCommit(flush, limit=3)
    first = asyncio.create_task(commit.submit(1))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(commit.submit(i)) for i in (2, -3, 4, 5)]
    await asyncio.sleep(0)
    gate.set()
    assert await first == 10
    results = await asyncio.gather(*rest, return_exceptions=True)
    assert flushed == [[1], [2, -3, 4], [5]]  # one flush at a time, each taking what waits (limit 3)
    assert results[0] == 20
    assert isinstance(results[1], ValueError)  # only that caller sees its item's failure
    assert results[2:] == [40, 50]
    with pytest.raises(RuntimeError):
        await commit.submit(13)
    assert await commit.submit(6) == 60  # the next batch is unaffected
    await commit.drain()


async def test_concurrent_attempts_settle_together_each_under_its_claim(
    engine: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = [await submit(engine, "t.noop", {"n": i}) for i in range(6)]
    runner, rescuer = Runner(engine, "worker-a"), Runner(engine, "rescuer")
    claims = await claim_all(runner, [job.id for job in jobs])
    # Job 0's lease runs out and another worker takes it: worker-a's outcome must not land.
    await expire_lease(engine, jobs[0].id)
    [taken] = (await rescuer.claim([claims[0].delivery]))[0]
    sizes = record_batches(runner, "settle", monkeypatch)
    await asyncio.gather(*(runner.run(claim) for claim in claims))
    assert sum(sizes) == 6
    assert len(sizes) < 6  # attempts that finished together shared a write
    lost = await load(engine, jobs[0].id)
    assert (lost.status, lost.worker_id, lost.attempts) == (JobStatus.PROCESSING, "rescuer", 2)
    for job in jobs[1:]:
        done = await load(engine, job.id)
        assert done.status == JobStatus.SUCCEEDED
        assert done.result == {"ok": True, "n": job.payload["n"]}
        assert done.dedupe_key is None
        assert done.finished_at is not None
        assert await events_of(engine, job.id) == [(1, "queued"), (2, "processing"), (3, "succeeded")]
        assert all(claim.outbox for claim in claims[1:])
    async with engine.db.session() as session:
        attempts = (await session.execute(select(JobAttempt).where(JobAttempt.success.is_(True)))).scalars()
        assert {a.job_id for a in attempts} == {job.id for job in jobs[1:]}
    assert await rescuer.finish(taken, Outcome("succeeded", result={"by": "rescuer"})) is True


async def test_a_failing_hook_costs_only_its_own_job(
    engine: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [await make_user(engine, stars=1) for _ in range(3)]
    jobs = [
        await submit(engine, "t.paid_hooked", {"explode": i == 1}, user=user) for i, user in enumerate(users)
    ]
    runner = Runner(engine, "worker-a")
    claims = await claim_all(runner, [job.id for job in jobs])
    sizes = record_batches(runner, "settle", monkeypatch)
    await asyncio.gather(*(runner.run(claim) for claim in claims))
    good, bad = [await load(engine, jobs[i].id) for i in (0, 2)], await load(engine, jobs[1].id)
    assert [(job.status, job.prompt_version) for job in good] == [(JobStatus.SUCCEEDED, "saved")] * 2
    # Its one attempt ended in "finish_failed" (retryable, but out of attempts): DLQ, hold released.
    assert (bad.status, bad.error_code) == (JobStatus.DLQ, "finish_failed")
    async with engine.db.session() as session:
        rows = [await session.get(User, user.id) for user in users]
    assert [(u.star_balance, u.stars_held) for u in rows if u] == [(0, 0), (1, 0), (0, 0)]
    assert max(sizes) > 1  # the batch was tried first, then each job on its own


async def test_progress_steps_of_concurrent_jobs_share_writes_and_stay_in_order(
    engine: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = ["a", "b", "c", "d"]
    jobs = [await submit(engine, "t.steps", {"steps": steps, "n": i}) for i in range(5)]
    runner = Runner(engine, "worker-a")
    claims = await claim_all(runner, [job.id for job in jobs])
    sizes = record_batches(runner, "record_progress", monkeypatch)
    await asyncio.gather(*(runner.run(claim) for claim in claims))
    assert sum(sizes) == 20
    assert max(sizes) > 1
    expected = [(1, "queued"), (2, "processing"), *[(3 + i, "progress") for i in range(4)], (7, "succeeded")]
    for job in jobs:
        assert await events_of(engine, job.id) == expected
        done = await load(engine, job.id)
        assert done.progress == {"step": "d", "message": "d…", "data": {}}


async def test_progress_reports_cancel_and_lost_claims_per_job(engine: Runtime) -> None:
    jobs = [await submit(engine, "t.noop", {"n": i}) for i in range(3)]
    runner, rescuer = Runner(engine, "worker-a"), Runner(engine, "rescuer")
    claims = await claim_all(runner, [job.id for job in jobs])
    async with engine.db.session() as session:
        row = await session.get(Job, jobs[1].id)
        assert row is not None
        row.cancel_requested = True
    await expire_lease(engine, jobs[2].id)
    await rescuer.claim([claims[2].delivery])
    step = {"step": "s", "message": None, "data": {}}
    ok, canceled, lost = await asyncio.gather(
        *(runner.steps.record(claim, step) for claim in claims), return_exceptions=True
    )
    assert (ok, canceled) == (False, True)
    assert isinstance(lost, LostClaim)
    assert await events_of(engine, jobs[2].id) == [(1, "queued"), (2, "processing"), (3, "processing")]
    # Two steps of one job in one batch are written one after the other, in order.
    await asyncio.gather(*(runner.steps.record(claims[0], {**step, "step": s}) for s in ("x", "y")))
    assert (await load(engine, jobs[0].id)).progress == {"step": "y", "message": None, "data": {}}
    assert [seq for seq, _ in await events_of(engine, jobs[0].id)] == [1, 2, 3, 4, 5]


async def test_heartbeat_skips_rows_a_batch_holds(pg_redis: Runtime) -> None:
    jobs = [await submit(pg_redis, "t.noop", {"n": i}) for i in range(2)]
    runner = Runner(pg_redis, "worker-a")
    claims = await claim_all(runner, [job.id for job in jobs])
    before = [(await load(pg_redis, job.id)).lease_expires_at for job in jobs]
    async with pg_redis.db.session() as locker:
        await locker.execute(text("SELECT id FROM jobs WHERE id = :id FOR UPDATE"), {"id": jobs[0].id})
        await asyncio.wait_for(runner.heartbeat(claims), 20)  # would wait forever without SKIP LOCKED
    after = [(await load(pg_redis, job.id)).lease_expires_at for job in jobs]
    assert after[0] == before[0]
    assert after[1] is not None
    assert before[1] is not None
    assert after[1] > before[1]


async def test_a_lost_retry_dispatch_is_logged_not_raised(
    engine: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, flaky = await submit(engine, "t.noop"), await submit(engine, "t.flaky", {"fail_times": 1})
    runner = Runner(engine, "worker-a")
    claims = await claim_all(runner, [ok.id, flaky.id])

    async def redis_away(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(engine.broker, "dispatch_later", redis_away)
    # Both outcomes are committed; the lost delayed dispatch is left to the reconciler.
    await asyncio.gather(*(runner.run(claim) for claim in claims))
    assert (await load(engine, ok.id)).status == JobStatus.SUCCEEDED
    retried = await load(engine, flaky.id)
    assert (retried.status, retried.error_code, retried.worker_id) == (JobStatus.QUEUED, "upstream_503", None)
