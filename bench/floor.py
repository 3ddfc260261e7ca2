"""The floor under any queue that keeps a durable job row: a bare loop, no framework.

What it does per job is the least a queue can do and still say "accepted" only once the job's row
is committed and "done" only once its terminal status is: the submitter INSERTs the row
(autocommit) and XADDs its id; a worker process blocked in XREADGROUP UPDATEs the row to
``succeeded`` (autocommit), then PUBLISHes the id and XACKs in one pipeline; a listener learns it
from the PUBLISH. That is two PostgreSQL round trips and two Redis hops in sequence; ``--claim``
adds the claim a queue needs before it runs a job (one more UPDATE), which is Conjure's sequence.

No events, holds, attempts, leases, retries or guards: it measures the round trips themselves on
this box, so that Conjure's latency and taskiq's (two Redis hops, no PostgreSQL) can be read
against the floor of their designs. Run by ``jobs_bench.py --peers floor2,floor3``.

    python bench/floor.py --role worker DATABASE_URL REDIS_URL 0|1     (started by bench_floor)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

import peers
from harness import cpu_seconds

HERE = Path(__file__).resolve().parent
CONCURRENCY = 50
STREAM, GROUP, DONE = "floor:jobs", "floor", "floor:done"
TABLE = """CREATE TABLE IF NOT EXISTS floor_jobs (
    id uuid PRIMARY KEY, status text NOT NULL, payload jsonb, created_at timestamptz DEFAULT now())"""


def _plain(database_url: str) -> str:
    return database_url.replace("+asyncpg", "")


async def worker(database_url: str, redis_url: str, claim: bool) -> None:
    pool = await asyncpg.create_pool(_plain(database_url), min_size=4, max_size=10)
    redis = aioredis.from_url(redis_url)
    slots = asyncio.Semaphore(CONCURRENCY)

    async def handle(ref: bytes, job_id: uuid.UUID) -> None:
        try:
            async with pool.acquire() as conn:
                if claim:
                    await conn.execute(
                        "UPDATE floor_jobs SET status = 'processing' WHERE id = $1 AND status = 'queued'",
                        job_id,
                    )
                await conn.execute("UPDATE floor_jobs SET status = 'succeeded' WHERE id = $1", job_id)
            async with redis.pipeline(transaction=False) as pipe:
                pipe.publish(DONE, str(job_id))
                pipe.xack(STREAM, GROUP, ref)
                await pipe.execute()
        finally:
            slots.release()

    tasks: set[asyncio.Task[None]] = set()
    while True:
        response: Any = await redis.xreadgroup(GROUP, "w", {STREAM: ">"}, count=CONCURRENCY, block=1000)
        for _stream, entries in response or ():
            for ref, fields in entries:
                await slots.acquire()
                task = asyncio.create_task(handle(ref, uuid.UUID(fields[b"id"].decode())))
                tasks.add(task)
                task.add_done_callback(tasks.discard)


async def bench_floor(
    database_url: str, redis_url: str, jobs: int, samples: int, claim: bool
) -> dict[str, Any]:
    """Drain ``jobs`` bare jobs with one worker process, then latency one job at a time."""
    conn = await asyncpg.connect(_plain(database_url))
    redis = aioredis.from_url(redis_url)
    await conn.execute(TABLE)
    await conn.execute("TRUNCATE floor_jobs")
    await redis.delete(STREAM, DONE)
    with contextlib.suppress(ResponseError):
        await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)

    async def submit() -> str:
        job_id = uuid.uuid4()
        await conn.execute("INSERT INTO floor_jobs (id, status) VALUES ($1, 'queued')", job_id)
        await redis.xadd(STREAM, {"id": str(job_id)})
        return str(job_id)

    listening, done = await peers.redis_done_listener(redis, DONE)
    for _ in range(jobs):
        await submit()
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    cmd = [sys.executable, str(HERE / "floor.py"), "--role", "worker", database_url, redis_url]
    cmd.append(str(int(claim)))
    process = subprocess.Popen(cmd, cwd=HERE, env=env)
    try:
        rate = await peers.drain_rate(done, jobs)
        before = cpu_seconds([process.pid])
        times = await peers.one_at_a_time(done, samples, submit)
        worker_cpu_ms = 1000 * (cpu_seconds([process.pid]) - before) / max(samples, 1)
    finally:
        process.terminate()
        process.wait()
        listening.cancel()
        await redis.aclose()
        await conn.close()
    latency: dict[str, Any] = {**peers.summary(times), "worker_cpu_ms_per_job": round(worker_cpu_ms, 3)}
    return {"jobs": jobs, "jobs_per_s_per_process": round(rate, 1), "latency": latency}


if __name__ == "__main__":
    if sys.argv[1:3] == ["--role", "worker"]:
        asyncio.run(worker(sys.argv[3], sys.argv[4], sys.argv[5] == "1"))
