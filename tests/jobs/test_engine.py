"""The engine end to end in one process, on both backends: retries, DLQ, failures, money, cancel."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from conjure.db import utcnow
from conjure.errors import ConjureError
from conjure.jobs.dlq import redrive
from conjure.jobs.models import Job, JobAttempt, JobEvent, JobStatus
from conjure.jobs.retry import backoff_ceiling
from conjure.jobs.runner import Outcome, Runner
from conjure.jobs.service import IdempotencyKeyReused, cancel_job
from conjure.jobs.types import Delivery
from conjure.runtime import Runtime
from conjure.users.models import User
from tests.factories import make_user
from tests.jobs import kinds
from tests.jobs.conftest import load, running, submit, wait_status


async def attempts_of(runtime: Runtime, job_id: uuid.UUID) -> list[JobAttempt]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(JobAttempt).where(JobAttempt.job_id == job_id).order_by(JobAttempt.attempt_number)
        )
        return list(rows.scalars())


async def events_of(runtime: Runtime, job_id: uuid.UUID) -> list[JobEvent]:
    async with runtime.db.session() as session:
        rows = await session.execute(select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.seq))
        return list(rows.scalars())


async def balances(runtime: Runtime, user: User) -> tuple[int, int]:
    async with runtime.db.session() as session:
        row = await session.get(User, user.id)
        assert row is not None
        return row.star_balance, row.stars_held


async def test_retryable_four_times_then_success(engine: Runtime) -> None:
    job = await submit(engine, "t.flaky", {"fail_times": 4})
    async with running(engine):
        done = await wait_status(engine, job.id, JobStatus.SUCCEEDED)
    assert done.attempts == 5
    assert done.result == {"attempt": 5}
    attempts = await attempts_of(engine, job.id)
    assert [a.success for a in attempts] == [False] * 4 + [True]
    assert {a.error_code for a in attempts[:4]} == {"upstream_503"}
    assert done.dedupe_key is None  # free again for a new, identical request


async def test_always_failing_goes_to_dlq_after_five_attempts_with_jittered_delays(engine: Runtime) -> None:
    settings = engine.settings
    job = await submit(engine, "t.always_fails")
    async with running(engine):
        done = await wait_status(engine, job.id, JobStatus.DLQ)
        await asyncio.sleep(0.1)
    assert done.attempts == 5
    assert done.error_code == "upstream_timeout"
    assert (await engine.broker.stats()).dead_letters == 1
    attempts = await attempts_of(engine, job.id)
    assert len(attempts) == 5
    assert not any(a.success for a in attempts)
    retrying = [e for e in await events_of(engine, job.id) if e.type == "retrying"]
    assert [e.data["attempt"] for e in retrying] == [1, 2, 3, 4]
    for event, before, after in zip(retrying, attempts, attempts[1:], strict=False):
        ceiling = backoff_ceiling(
            event.data["attempt"], base=settings.retry_base_seconds, cap=settings.retry_cap_seconds
        )
        assert 0 <= event.data["delay_seconds"] <= ceiling
        assert before.started_at is not None
        assert after.started_at is not None
        # A retry never starts sooner than its delay after the failed attempt began. (Measured from
        # start to start: on SQLite the finish stamp can trail the commit that wakes the retry.) How
        # late it runs depends on machine load, so there is no upper bound.
        gap = (after.started_at - before.started_at).total_seconds()
        assert gap >= event.data["delay_seconds"] - 0.01


async def test_non_retryable_fails_at_attempt_one_and_releases_the_hold(engine: Runtime) -> None:
    user = await make_user(engine, stars=3)
    job = await submit(engine, "t.bad_input", user=user)
    assert await balances(engine, user) == (3, 1)
    async with running(engine):
        done = await wait_status(engine, job.id, JobStatus.FAILED)
    assert done.attempts == 1
    assert done.error_code == "content_policy"
    assert await balances(engine, user) == (3, 0)
    assert kinds.CALLS[str(job.id)] == 1


async def test_success_captures_the_hold(engine: Runtime) -> None:
    user = await make_user(engine, stars=2)
    first = await submit(engine, "t.paid", {"n": 1}, user=user)
    await submit(engine, "t.paid", {"n": 2}, user=user)
    with pytest.raises(ConjureError) as info:
        await submit(engine, "t.paid", {"n": 3}, user=user)
    assert info.value.code == "insufficient_stars"
    async with running(engine):
        await wait_status(engine, first.id, JobStatus.SUCCEEDED)
        async with engine.db.session() as session:
            rows = await session.execute(select(Job).where(Job.user_id == user.id))
            ids = [j.id for j in rows.scalars()]
        assert len(ids) == 2  # the refused third left nothing behind
        for job_id in ids:
            await wait_status(engine, job_id, JobStatus.SUCCEEDED)
    assert await balances(engine, user) == (0, 0)


async def test_dlq_releases_the_hold(engine: Runtime) -> None:
    user = await make_user(engine, stars=1)
    job = await submit(engine, "t.paid_fails", user=user)
    async with running(engine):
        await wait_status(engine, job.id, JobStatus.DLQ)
    assert await balances(engine, user) == (1, 0)


async def test_timeout_is_retryable_error(engine: Runtime) -> None:
    job = await submit(engine, "t.timeout", {"seconds": 5})
    async with running(engine):
        done = await wait_status(engine, job.id, JobStatus.DLQ)
    assert done.error_code == "timeout"


async def test_duplicate_delivery_has_one_effect(engine: Runtime) -> None:
    user = await make_user(engine, stars=1)
    job = await submit(engine, "t.paid", user=user)
    delivery, duplicate = Delivery(job_id=job.id, ref="1-0"), Delivery(job_id=job.id, ref="2-0")
    first, second = Runner(engine, "worker-a"), Runner(engine, "worker-b")
    (claims_a, skip_a), (claims_b, skip_b) = await asyncio.gather(
        first.claim([delivery, duplicate]), second.claim([delivery])
    )
    claims = claims_a + claims_b
    assert len(claims) == 1
    assert len(skip_a + skip_b) == 2
    winner = first if claims_a else second
    await winner.run(claims[0])
    # The loser, handed the same entry again later, finds nothing to claim.
    loser = second if claims_a else first
    assert (await loser.claim([delivery]))[0] == []
    done = await load(engine, job.id)
    assert done.status == JobStatus.SUCCEEDED
    assert done.attempts == 1
    assert kinds.CALLS[str(job.id)] == 1
    assert await balances(engine, user) == (0, 0)


async def test_zombie_worker_changes_nothing(make_runtime: object, engine: Runtime) -> None:
    job = await submit(engine, "t.noop")
    delivery = Delivery(job_id=job.id, ref="1-0")
    zombie, rescuer = Runner(engine, "zombie"), Runner(engine, "rescuer")
    [stale], _ = await zombie.claim([delivery])
    async with engine.db.session() as session:  # the zombie's lease runs out
        row = await session.get(Job, job.id)
        assert row is not None
        row.lease_expires_at = utcnow() - dt.timedelta(seconds=1)
    [fresh], _ = await rescuer.claim([delivery])
    assert fresh.attempt == 2
    assert await zombie.finish(stale, Outcome("succeeded", result={"from": "zombie"})) is False
    assert await rescuer.finish(fresh, Outcome("succeeded", result={"from": "rescuer"})) is True
    done = await load(engine, job.id)
    assert done.result == {"from": "rescuer"}
    assert done.worker_id == "rescuer"
    attempts = await attempts_of(engine, job.id)
    assert [(a.attempt_number, a.success, a.error_code) for a in attempts] == [
        (1, False, "lease_expired"),
        (2, True, None),
    ]


async def test_idempotency_key_and_dedupe(engine: Runtime) -> None:
    user = await make_user(engine, stars=5)
    a = await submit(engine, "t.paid", {"q": "same"}, user=user, idempotency_key="k1")
    again = await submit(engine, "t.paid", {"q": "same"}, user=user, idempotency_key="k1")
    assert again.id == a.id
    with pytest.raises(IdempotencyKeyReused):
        await submit(engine, "t.paid", {"q": "other"}, user=user, idempotency_key="k1")
    in_flight = await submit(engine, "t.paid", {"q": "same"}, user=user)  # dedupe_key: same user + payload
    assert in_flight.id == a.id
    assert await balances(engine, user) == (5, 1)  # one hold, not three
    async with running(engine):
        await wait_status(engine, a.id, JobStatus.SUCCEEDED)
    later = await submit(engine, "t.paid", {"q": "same"}, user=user)
    assert later.id != a.id  # once finished, the same question may be asked again


async def test_cancel_processing_job_stops_between_steps(engine: Runtime) -> None:
    user = await make_user(engine, stars=1)
    async with engine.db.session() as session:
        row = await session.get(User, user.id)
    job = await submit(engine, "t.steps", {"seconds": 0.3, "steps": ["a", "b", "c", "d"]}, user=user)
    async with running(engine):
        await wait_status(engine, job.id, JobStatus.PROCESSING)
        async with engine.db.session() as session:
            assert row is not None
            canceling = await cancel_job(session, engine, job.id, row)
            assert canceling.status == JobStatus.PROCESSING
            assert canceling.cancel_requested
        done = await wait_status(engine, job.id, JobStatus.CANCELED)
    assert done.error_code == "canceled"
    assert (done.progress or {}).get("step") != "d"


async def test_start_deadline_cancels_without_charge(engine: Runtime) -> None:
    user = await make_user(engine, stars=1)
    job = await submit(engine, "t.paid", user=user, start_deadline=utcnow() - dt.timedelta(seconds=1))
    async with running(engine):
        done = await wait_status(engine, job.id, JobStatus.CANCELED)
    assert done.error_code == "deadline"
    assert done.attempts == 0
    assert await balances(engine, user) == (1, 0)


async def test_progress_and_usage_are_recorded(engine: Runtime) -> None:
    job = await submit(engine, "t.steps")
    async with running(engine):
        done = await wait_status(engine, job.id, JobStatus.SUCCEEDED)
    types = [(e.seq, e.type) for e in await events_of(engine, job.id)]
    assert types == [
        (1, "queued"),
        (2, "processing"),
        (3, "progress"),
        (4, "progress"),
        (5, "progress"),
        (6, "succeeded"),
    ]
    assert done.progress == {"step": "reading", "message": "reading…", "data": {}}
    assert done.usage is not None
    assert done.usage["output_tokens"] == 5


async def test_a_kind_may_bring_its_own_backoff(engine: Runtime) -> None:
    job = await submit(engine, "t.own_backoff")
    async with running(engine):
        await wait_status(engine, job.id, JobStatus.DLQ)
    delays = [e.data["delay_seconds"] for e in await events_of(engine, job.id) if e.type == "retrying"]
    assert len(delays) == 2
    assert all(0 <= d <= 0.002 for d in delays)  # the kind's cap, not the settings' (0.2 s)


async def test_redriven_job_runs_again_with_continuing_attempts(engine: Runtime) -> None:
    job = await submit(engine, "t.flaky", {"fail_times": 6})
    async with running(engine):
        await wait_status(engine, job.id, JobStatus.DLQ)
        async with engine.db.session() as session:
            assert (await redrive(session, engine, [job.id])).redriven == [job.id]
        done = await wait_status(engine, job.id, JobStatus.SUCCEEDED)
    assert done.attempts == 7
    assert [a.attempt_number for a in await attempts_of(engine, job.id)] == list(range(1, 8))


async def test_redriven_paid_job_holds_its_price_again_and_is_charged_on_success(engine: Runtime) -> None:
    from conjure.wallet.service import check_consistency

    user = await make_user(engine, stars=3)
    job = await submit(engine, "t.paid_flaky", {"fail_times": 2}, user=user)
    async with running(engine):
        await wait_status(engine, job.id, JobStatus.DLQ)
        assert await balances(engine, user) == (3, 0)  # released on the way to the DLQ
    async with engine.db.session() as session:
        done = await redrive(session, engine, [job.id])
    assert (done.redriven, done.short_of_stars) == ([job.id], [])
    assert await balances(engine, user) == (3, 1)  # held again before it runs again
    async with running(engine):
        again = await wait_status(engine, job.id, JobStatus.SUCCEEDED)
    assert again.attempts == 3
    assert await balances(engine, user) == (2, 0)  # the success is paid for, once
    queued = [e.data for e in await events_of(engine, job.id) if e.type == "queued"]
    assert queued[-1] == {"status": "queued", "redriven": True, "held_stars": 1, "free": False}
    async with engine.db.session() as session:
        assert await check_consistency(session) == []


async def test_redrive_without_the_stars_stays_in_dlq_unless_the_operator_runs_it_free(
    engine: Runtime,
) -> None:
    from conjure.wallet.service import check_consistency

    user = await make_user(engine, stars=1)
    job = await submit(engine, "t.paid_flaky", {"fail_times": 2}, user=user)
    async with running(engine):
        await wait_status(engine, job.id, JobStatus.DLQ)
    await submit(engine, "t.paid", user=user)  # not run: its hold takes the only star
    assert await balances(engine, user) == (1, 1)
    async with engine.db.session() as session:
        refused = await redrive(session, engine, None)
    assert (refused.redriven, refused.short_of_stars) == ([], [job.id])
    assert (await load(engine, job.id)).status == JobStatus.DLQ
    assert await balances(engine, user) == (1, 1)
    async with engine.db.session() as session:
        free = await redrive(session, engine, [job.id], free=True)
    assert free.redriven == [job.id]
    async with running(engine):
        await wait_status(engine, job.id, JobStatus.SUCCEEDED)
    queued = [e.data for e in await events_of(engine, job.id) if e.type == "queued"]
    assert queued[-1] == {"status": "queued", "redriven": True, "held_stars": 0, "free": True}
    assert await balances(engine, user) == (0, 0)  # only the other job was paid for
    async with engine.db.session() as session:
        assert await check_consistency(session) == []
