"""The peers in Conjure's own job benchmark: taskiq (Redis Streams) and pgqueuer (PostgreSQL).

Same workload as ``jobs_bench.py`` measures for Conjure, on the same servers in the same run:
a backlog of no-op jobs drained by one worker process (concurrency 50, as their authors
benchmark them), then light-load latency (one job at a time, submit → done as a listener learns
it). "Done" is what each peer offers: taskiq's result stored in Redis (its result backend,
extended to publish the task id in the same round trip, as Conjure publishes ``succeeded``),
pgqueuer's job moved to its log table (its ``CompletionWatcher``: LISTEN/NOTIFY). Neither keeps
a durable job row with events, a hold or a claim guard; that is the cost Conjure carries.

    python bench/peers.py --role taskiq-worker | pgqueuer-worker   (started by jobs_bench.py)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis

HERE = Path(__file__).resolve().parent
CONCURRENCY = 50
DONE_CHANNEL = "peer:done"


def _taskiq_broker(redis_url: str) -> Any:
    from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

    class PublishingResultBackend(RedisAsyncResultBackend):  # type: ignore[type-arg]
        """Stores the result, then tells listeners (SET + PUBLISH, one round trip)."""

        async def set_result(self, task_id: str, result: Any) -> None:
            value = self.serializer.dumpb(result.model_dump(mode="json"))
            async with (
                aioredis.Redis(connection_pool=self.redis_pool) as redis,
                redis.pipeline(False) as pipe,
            ):
                pipe.set(self._task_name(task_id), value, ex=600)
                pipe.publish(DONE_CHANNEL, task_id)
                await pipe.execute()

    broker = RedisStreamBroker(redis_url, consumer_id="0").with_result_backend(
        PublishingResultBackend(redis_url)
    )

    @broker.task(task_name="noop")
    async def noop() -> None:
        return None

    return broker


# ``taskiq worker peers:BROKER`` imports this module in the worker process.
BROKER = _taskiq_broker(os.environ["PEER_REDIS_URL"]) if os.environ.get("PEER_REDIS_URL") else None


async def redis_done_listener(
    redis: aioredis.Redis, channel: str = DONE_CHANNEL
) -> tuple[Any, asyncio.Queue[tuple[str, float]]]:
    """A task queueing (id, when) for each id published on ``channel``, and that queue."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    queue: asyncio.Queue[tuple[str, float]] = asyncio.Queue()

    async def pump() -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None and message.get("type") == "message":
                data = message["data"]
                queue.put_nowait(
                    (data.decode() if isinstance(data, bytes) else str(data), time.perf_counter())
                )

    return asyncio.create_task(pump()), queue


async def drain_rate(done: asyncio.Queue[tuple[str, float]], jobs: int) -> float:
    """Jobs/s of a backlog of ``jobs`` drained, timed from the first one done (the worker is up)."""
    await done.get()
    started, seen = time.perf_counter(), 1
    while seen < jobs:
        await done.get()
        seen += 1
    return (jobs - 1) / (time.perf_counter() - started)


async def one_at_a_time(
    done: asyncio.Queue[tuple[str, float]], samples: int, submit: Callable[[], Awaitable[str]]
) -> list[float]:
    """Milliseconds from each ``submit`` (which returns the job's id) to its id on ``done``."""
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        sent = await submit()
        while True:
            job_id, at = await done.get()
            if job_id == sent:
                break
        times.append((at - t0) * 1000)
    return times


def summary(times: list[float]) -> dict[str, float]:
    times.sort()
    return {
        "samples": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(times[max(int(len(times) * 0.99) - 1, 0)], 2),
    }


async def bench_taskiq(redis_url: str, jobs: int, samples: int) -> dict[str, Any]:
    """Drain ``jobs`` no-op tasks with one taskiq worker, then latency one task at a time."""
    redis = aioredis.from_url(redis_url)
    await redis.flushall()
    broker = _taskiq_broker(redis_url)
    await broker.startup()
    pump, done = await redis_done_listener(redis)
    task = broker.find_task("noop")
    for _ in range(jobs):
        await task.kiq()
    env = {**os.environ, "PEER_REDIS_URL": redis_url, "PYTHONPATH": str(HERE)}
    cmd = [sys.executable, "-m", "taskiq", "worker", "peers:BROKER", "--workers", "1"]
    cmd += ["--max-async-tasks", str(CONCURRENCY), "--no-configure-logging"]
    worker = subprocess.Popen(cmd, cwd=HERE, env=env)

    async def submit() -> str:
        return str((await task.kiq()).task_id)

    try:
        rate = await drain_rate(done, jobs)
        times = await one_at_a_time(done, samples, submit)
    finally:
        worker.terminate()
        worker.wait()
        pump.cancel()
        await broker.shutdown()
        await redis.aclose()
    return {"jobs": jobs, "jobs_per_s_per_process": round(rate, 1), "latency": summary(times)}


def _plain(database_url: str) -> str:
    return database_url.replace("+asyncpg", "")


async def pgqueuer_worker(database_url: str) -> None:
    from pgqueuer import QueueManager
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    conn = await asyncpg.connect(_plain(database_url))
    qm = QueueManager(Queries(AsyncpgDriver(conn)))

    @qm.entrypoint("noop")
    async def noop(job: Any) -> None:
        return None

    await qm.run(max_concurrent_tasks=CONCURRENCY, dequeue_timeout=timedelta(seconds=1))


async def bench_pgqueuer(database_url: str, jobs: int, samples: int) -> dict[str, Any]:
    """Drain ``jobs`` no-op jobs with one pgqueuer worker, then latency one job at a time."""
    from pgqueuer.core.completion import CompletionWatcher
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    conn = await asyncpg.connect(_plain(database_url))
    driver = AsyncpgDriver(conn)
    queries = Queries(driver)
    with contextlib.suppress(asyncpg.DuplicateObjectError):
        await queries.install()
    for start in range(0, jobs, 500):
        size = min(500, jobs - start)
        await queries.enqueue(["noop"] * size, [None] * size, [0] * size)
    count_conn = await asyncpg.connect(_plain(database_url))
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    worker = subprocess.Popen(
        [sys.executable, str(HERE / "peers.py"), "--role", "pgqueuer-worker", database_url], cwd=HERE, env=env
    )

    async def finished() -> int:
        value = await count_conn.fetchval("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")
        return int(value or 0)

    try:
        while await finished() < 1:
            await asyncio.sleep(0.005)
        started = time.perf_counter()
        while await finished() < jobs:
            await asyncio.sleep(0.02)
        rate = jobs / (time.perf_counter() - started)
        times = []
        watch_conn = await asyncpg.connect(_plain(database_url))
        watcher_driver = AsyncpgDriver(watch_conn)
        async with CompletionWatcher(
            watcher_driver, queries=Queries(watcher_driver), debounce=timedelta(0)
        ) as watcher:
            for _ in range(samples):
                t0 = time.perf_counter()
                [job_id] = await queries.enqueue(["noop"], [None], [0])
                await watcher.wait_for(job_id)
                times.append((time.perf_counter() - t0) * 1000)
        await watch_conn.close()
    finally:
        worker.terminate()
        worker.wait()
        await count_conn.close()
        await conn.close()
    return {"jobs": jobs, "jobs_per_s_per_process": round(rate, 1), "latency": summary(times)}


if __name__ == "__main__":
    if sys.argv[1:3] == ["--role", "pgqueuer-worker"]:
        asyncio.run(pgqueuer_worker(sys.argv[3]))
