"""Parking: a job waiting on a callback holds no worker slot, keeps its hold, is resumed once by its
callback (even one that came before the park committed) or woken at its poll time, and still ends:
at its deadline, by a cancel or by its Cancel-After. Free delays: runs that spend no attempt."""

from __future__ import annotations

import datetime as dt
import signal
import uuid

import pytest
from sqlalchemy import select

from conjure.db import utcnow
from conjure.events.types import START
from conjure.jobs.models import Job, JobAttempt, JobEvent, JobStatus
from conjure.jobs.parking import resume_job
from conjure.jobs.service import cancel_job
from conjure.runtime import Runtime
from conjure.users.models import User
from tests.factories import make_user
from tests.jobs.conftest import MakeRuntime, load, running, spawn_worker, submit, wait_status, wait_until
from tests.jobs.kinds import CALLS


async def balances(runtime: Runtime, user_id: uuid.UUID) -> tuple[int, int]:
    async with runtime.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.star_balance, user.stars_held


async def resume(runtime: Runtime, job_id: uuid.UUID, data: dict[str, str]) -> bool:
    async with runtime.db.session() as session:
        return await resume_job(session, runtime, job_id, data)


async def event_types(runtime: Runtime, job_id: uuid.UUID) -> list[str]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(JobEvent.type).where(JobEvent.job_id == job_id).order_by(JobEvent.seq)
        )
        return list(rows)


async def user_event_types(runtime: Runtime, user_id: uuid.UUID) -> list[tuple[str, dict[str, object]]]:
    return [(e.type, e.payload()) for e in await runtime.user_events.replay(user_id, START)]


async def test_parked_jobs_free_the_worker_slot_and_a_callback_resumes_each_once(
    make_runtime: MakeRuntime, backend: dict[str, str]
) -> None:
    runtime = await make_runtime(**backend, worker_concurrency=1)
    user = await make_user(runtime, stars=4)
    jobs = [await submit(runtime, "t.parks", {"n": n}, user=user) for n in range(4)]
    async with running(runtime):
        # One worker slot, four jobs waiting at once: none of them holds it.
        for job in jobs:
            await wait_status(runtime, job.id, JobStatus.WAITING)
        assert await balances(runtime, user.id) == (4, 4)  # every hold kept while waiting
        for job in jobs:
            assert await resume(runtime, job.id, {"prediction": f"p{job.id}"}) is True
            assert await resume(runtime, job.id, {"prediction": "again"}) is False  # a duplicate
        done = [await wait_status(runtime, job.id, JobStatus.SUCCEEDED) for job in jobs]
    for job in done:
        assert job.result == {"runs": 2, "resumed_with": {"prediction": f"p{job.id}"}, "attempt": 2}
        # Two runs, one of them a park: the job's budget of real attempts is whole.
        assert (job.attempts, job.max_attempts, job.parks) == (2, 3, 1)
        assert CALLS[str(job.id)] == 2
        assert await event_types(runtime, job.id) == [
            "queued",
            "processing",
            "waiting",
            "queued",
            "processing",
            "succeeded",
        ]
    assert await balances(runtime, user.id) == (0, 0)  # each charged once
    async with runtime.db.session() as session:
        parked = await session.scalars(
            select(JobAttempt.error_code)
            .where(JobAttempt.job_id == jobs[0].id)
            .order_by(JobAttempt.attempt_number)
        )
        assert list(parked) == ["parked", None]


async def test_a_callback_before_the_park_commits_queues_the_job_at_once(
    make_runtime: MakeRuntime, backend: dict[str, str]
) -> None:
    runtime = await make_runtime(**backend)
    user = await make_user(runtime, stars=1)
    # The provider answers while the run is still between its submit and its park.
    job = await submit(runtime, "t.parks", {"before_park": 1.0, "poll_after": 3600}, user=user)
    async with running(runtime):

        async def submitted() -> bool:
            return ((await load(runtime, job.id)).progress or {}).get("step") == "submitted"

        await wait_until(submitted, what="the first run to hand its work over")
        assert await resume(runtime, job.id, {"early": "yes"}) is False  # not waiting yet
        done = await wait_status(runtime, job.id, JobStatus.SUCCEEDED, timeout=15)
    # No lost wake-up: it did not wait for its poll time an hour away.
    assert done.result == {"runs": 2, "resumed_with": {"early": "yes"}, "attempt": 2}
    assert "waiting" not in await event_types(runtime, job.id)


async def test_a_job_never_resumed_is_polled_then_fails_at_its_deadline(
    make_runtime: MakeRuntime, backend: dict[str, str]
) -> None:
    runtime = await make_runtime(**backend)
    user = await make_user(runtime, stars=1)
    job = await submit(runtime, "t.parks", {"poll_after": 0.2, "deadline": 2.5, "repark": True}, user=user)
    async with running(runtime):
        ended = await wait_status(runtime, job.id, JobStatus.FAILED, timeout=20)
    assert ended.error_code == "callback_timeout"
    assert ended.parks >= 2  # woken at its poll times, looked, parked again
    assert CALLS[str(job.id)] == ended.parks
    assert await balances(runtime, user.id) == (1, 0)  # the hold released: nothing charged
    sent = await user_event_types(runtime, user.id)
    assert ("test.failed", {"status": "failed", "code": "callback_timeout"}) in sent


async def test_a_cancel_or_cancel_after_ends_a_waiting_job_at_once(
    make_runtime: MakeRuntime, backend: dict[str, str]
) -> None:
    runtime = await make_runtime(**backend)
    user = await make_user(runtime, stars=2)
    canceled = await submit(runtime, "t.parks", {"n": 1}, user=user)
    start_deadline = utcnow() + dt.timedelta(seconds=1.5)
    late = await submit(runtime, "t.parks", {"n": 2}, user=user, start_deadline=start_deadline)
    async with running(runtime):
        await wait_status(runtime, canceled.id, JobStatus.WAITING)
        await wait_status(runtime, late.id, JobStatus.WAITING)
        async with runtime.db.session() as session:
            owner = await session.get(User, user.id)
            assert owner is not None
            job = await cancel_job(session, runtime, canceled.id, owner)
            assert job.status == JobStatus.CANCELED
        expired = await wait_status(runtime, late.id, JobStatus.CANCELED, timeout=10)
    assert expired.error_code == "deadline"
    assert await balances(runtime, user.id) == (2, 0)
    assert await resume(runtime, canceled.id, {"too": "late"}) is False
    assert (await load(runtime, canceled.id)).status == JobStatus.CANCELED
    codes = [
        data["code"] for type_, data in await user_event_types(runtime, user.id) if type_ == "test.failed"
    ]
    assert sorted(codes) == ["canceled", "deadline"]  # on_failure ran for both


async def test_park_is_capped_so_a_job_always_ends(make_runtime: MakeRuntime, sqlite_url: str) -> None:
    runtime = await make_runtime(database_url=sqlite_url, job_max_parks=1)
    user = await make_user(runtime, stars=1)
    job = await submit(runtime, "t.parks", {"poll_after": 0.05, "repark": True}, user=user)
    async with running(runtime):
        ended = await wait_status(runtime, job.id, JobStatus.DLQ, JobStatus.FAILED, timeout=30)
    # One free park; after it every park is an ordinary retryable failure that spends an attempt.
    assert (ended.status, ended.error_code, ended.parks, ended.max_attempts) == (
        "dlq",
        "too_many_parks",
        1,
        3,
    )
    assert await balances(runtime, user.id) == (1, 0)


async def test_deferred_runs_spend_no_attempt_up_to_their_cap(
    make_runtime: MakeRuntime, backend: dict[str, str]
) -> None:
    runtime = await make_runtime(
        **backend, job_max_free_delays=3, retry_base_seconds=0.01, retry_cap_seconds=0.02
    )
    user = await make_user(runtime, stars=2)
    # One attempt in all (max_attempts=1): deferred twice, then it runs and succeeds.
    recovers = await submit(runtime, "t.deferred", {"defer_times": 2}, user=user)
    # Deferred every time: three free delays, then the fourth counts and the job is dead-lettered.
    never = await submit(runtime, "t.deferred", {"defer_times": 1000}, user=user)
    async with running(runtime):
        ok = await wait_status(runtime, recovers.id, JobStatus.SUCCEEDED, timeout=20)
        dead = await wait_status(runtime, never.id, JobStatus.DLQ, timeout=20)
    assert (ok.attempts, ok.max_attempts, ok.free_delays) == (3, 3, 2)
    assert (dead.attempts, dead.free_delays, dead.error_code) == (4, 3, "circuit_open")
    assert CALLS[str(never.id)] == 4
    assert await balances(runtime, user.id) == (1, 0)  # charged for the success only
    assert (await event_types(runtime, recovers.id)).count("retrying") == 2


async def test_on_failure_runs_for_a_dead_lettered_job(
    make_runtime: MakeRuntime, backend: dict[str, str]
) -> None:
    runtime = await make_runtime(**backend)
    user = await make_user(runtime, stars=1)
    job = await submit(runtime, "t.paid_fails_hooked", {"n": 1}, user=user)
    async with running(runtime):
        await wait_status(runtime, job.id, JobStatus.DLQ)

        async def told() -> bool:
            return any(t == "test.failed" for t, _ in await user_event_types(runtime, user.id))

        await wait_until(told, timeout=10, what="on_failure's event")
    assert ("test.failed", {"status": "dlq", "code": "upstream_timeout"}) in await user_event_types(
        runtime, user.id
    )
    async with runtime.db.session() as session:
        assert (await session.get(Job, job.id)) is not None


@pytest.mark.slow
async def test_parked_jobs_of_a_killed_worker_process_are_resumed_and_finished_by_another(
    pg_redis: Runtime,
) -> None:
    user = await make_user(pg_redis, stars=3)
    jobs = [await submit(pg_redis, "t.parks", {"n": n}, user=user) for n in range(3)]
    victim = spawn_worker(pg_redis.settings, WORKER_CONCURRENCY="1")
    rescuer = None
    try:
        for job in jobs:
            await wait_status(pg_redis, job.id, JobStatus.WAITING)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        for job in jobs:  # the callbacks come while no worker runs
            assert await resume(pg_redis, job.id, {"prediction": str(job.id)}) is True
        rescuer = spawn_worker(pg_redis.settings)
        done = [await wait_status(pg_redis, job.id, JobStatus.SUCCEEDED) for job in jobs]
    finally:
        for proc in (victim, rescuer):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    for job in done:
        assert job.result == {"runs": 2, "resumed_with": {"prediction": str(job.id)}, "attempt": 2}
        assert (job.attempts, job.parks) == (2, 1)
    assert await balances(pg_redis, user.id) == (0, 0)  # each charged once
