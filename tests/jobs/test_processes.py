"""The engine with real worker processes on PostgreSQL + Redis: volume, kill -9, Redis data loss."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import uuid
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from sqlalchemy import ColumnElement, func, insert, select

from conjure.db import utcnow
from conjure.jobs import keys
from conjure.jobs.models import EVENTS, JOBS, Job, JobAttempt, JobEvent, JobStatus
from conjure.runtime import Runtime
from conjure.users.models import User
from tests.factories import make_user
from tests.jobs.conftest import MakeRuntime, running, spawn_worker, submit, wait_status, wait_until
from tests.servers import RedisServer

pytestmark = pytest.mark.slow


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


async def consumers(runtime: Runtime) -> int:
    return len(await runtime.broker.workers())


async def count(runtime: Runtime, *where: ColumnElement[bool]) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Job).where(*where)) or 0)


async def bulk_submit(runtime: Runtime, kind: str, n: int, seconds: float = 0.0) -> list[uuid.UUID]:
    """Insert queued jobs straight into the table and dispatch them (submit_job is tested elsewhere)."""
    now = utcnow()
    ids = [uuid.uuid4() for _ in range(n)]
    async with runtime.db.session() as session:
        await session.execute(
            insert(JOBS),
            [
                {
                    "id": job_id,
                    "kind": kind,
                    "status": JobStatus.QUEUED,
                    "payload": {"n": i, "seconds": seconds},
                    "attempts": 0,
                    "max_attempts": 5,
                    "price_stars": 0,
                    "schema_version": "1",
                    "run_at": now,
                    "cancel_requested": False,
                    "event_seq": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, job_id in enumerate(ids)
            ],
        )
        await session.execute(
            insert(EVENTS),
            [{"job_id": j, "seq": 1, "type": "queued", "data": {}, "created_at": now} for j in ids],
        )
    await runtime.broker.dispatch(ids)
    return ids


async def test_thousand_jobs_through_two_worker_processes(
    pg_redis: Runtime, workers: list[subprocess.Popen[bytes]]
) -> None:
    workers.extend([spawn_worker(pg_redis.settings), spawn_worker(pg_redis.settings)])
    await wait_until(lambda: _consumers_at_least(pg_redis, 2), 60, "both workers to join the group")
    ids = await bulk_submit(pg_redis, "t.sleepy", 1000, seconds=0.002)

    async def all_done() -> bool:
        return await count(pg_redis, Job.status == JobStatus.SUCCEEDED) == len(ids)

    await wait_until(all_done, 90, "1,000 jobs to succeed")
    async with pg_redis.db.session() as session:
        attempts = await session.execute(
            select(JobAttempt.job_id, func.count())
            .where(JobAttempt.success.is_(True))
            .group_by(JobAttempt.job_id)
        )
        successes = dict(attempts.all())
        finals = await session.execute(
            select(JobEvent.job_id, func.count())
            .where(JobEvent.type == "succeeded")
            .group_by(JobEvent.job_id)
        )
        final_events = dict(finals.all())
        by_worker = dict(
            (await session.execute(select(Job.worker_id, func.count()).group_by(Job.worker_id))).all()
        )
    assert set(successes) == set(ids)
    assert set(successes.values()) == {1}  # exactly once
    assert set(final_events.values()) == {1}
    assert len(by_worker) == 2  # both processes took work
    assert (await pg_redis.broker.stats()).pending == 0


async def _consumers_at_least(runtime: Runtime, n: int) -> bool:
    return await consumers(runtime) >= n


async def test_kill_9_mid_job_is_reclaimed_and_charged_once(
    make_runtime: MakeRuntime, pg_url: str, redis_url: str, workers: list[subprocess.Popen[bytes]]
) -> None:
    runtime = await make_runtime(
        database_url=pg_url, redis_url=redis_url, visibility_timeout_seconds=2, heartbeat_seconds=0.5
    )
    victim = spawn_worker(runtime.settings, WORKER_CONCURRENCY="4")
    workers.append(victim)
    await wait_until(lambda: _consumers_at_least(runtime, 1), 60, "the victim to join")
    user = await make_user(runtime, stars=6)
    jobs = [await submit(runtime, "t.paid_sleepy", {"seconds": 1.5, "n": i}, user=user) for i in range(6)]

    async def victim_busy() -> bool:
        return await count(runtime, Job.status == JobStatus.PROCESSING) >= 2

    await wait_until(victim_busy, 60, "the victim to be mid-job")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    rescuer = spawn_worker(runtime.settings)
    workers.append(rescuer)
    for job in jobs:
        await wait_status(runtime, job.id, JobStatus.SUCCEEDED, timeout=60)
    assert await count(runtime, Job.status == JobStatus.PROCESSING) == 0
    async with runtime.db.session() as session:
        attempts = (await session.execute(select(JobAttempt))).scalars().all()
        owner = await session.get(User, user.id)
    assert sum(1 for a in attempts if a.success) == len(jobs)  # one success each, no double effect
    lost = [a for a in attempts if a.error_code == "lease_expired"]
    assert lost  # the killed worker's attempts were closed as lost
    assert all(a.finished_at is not None for a in attempts)
    assert owner is not None
    assert (owner.star_balance, owner.stars_held) == (0, 0)  # six stars captured, once each
    rescuer.send_signal(signal.SIGTERM)  # graceful shutdown exits cleanly
    assert rescuer.wait(timeout=30) == 0


async def test_redis_restarted_empty_with_jobs_queued(
    make_runtime: MakeRuntime, pg_url: str, redis_url: str, redis_server: RedisServer
) -> None:
    runtime = await make_runtime(database_url=pg_url, redis_url=redis_url, reconcile_after_seconds=1)
    jobs = [await submit(runtime, "t.noop", {"n": i}) for i in range(20)]
    assert (await runtime.broker.stats()).ready == 20
    redis_server.restart()  # the entries, the group and the delayed set are gone
    probe = aioredis.from_url(redis_url)
    assert await probe.exists(keys.STREAM) == 0
    await probe.aclose()
    async with running(runtime):
        for job in jobs:
            await wait_status(runtime, job.id, JobStatus.SUCCEEDED, timeout=30)
    assert runtime.redis is not None
    assert await runtime.redis.xinfo_groups(keys.STREAM)  # NOGROUP handled: the group exists again


async def test_reconciler_waits_longer_while_the_queue_has_a_backlog(pg_redis: Runtime) -> None:
    from conjure.jobs.scheduler import Scheduler

    jobs = [await submit(pg_redis, "t.noop", {"n": i}) for i in range(3)]
    async with pg_redis.db.session() as session:  # as if they had waited 60 s in a long queue
        for job in jobs:
            row = await session.get(Job, job.id)
            assert row is not None
            row.run_at = utcnow() - dt.timedelta(seconds=60)
    scheduler = Scheduler(pg_redis)
    assert await scheduler.reconcile(bound_seconds=30) == 0  # still in the stream: no duplicates
    assert pg_redis.redis is not None
    await pg_redis.redis.flushall()  # now the queue really lost them
    assert await scheduler.reconcile(bound_seconds=30) == 3
