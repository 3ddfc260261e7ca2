"""No-op jobs end to end (submit → succeeded): throughput of one worker process and light-load latency.

    python bench/jobs_bench.py [--jobs 2000] [--samples 200] [--only pg_redis|embedded]

PostgreSQL + Redis: a real ``conjure worker``-style process (this file with ``--role worker``)
consumes while this process submits through ``submit_job``. Embedded: SQLite and the
in-process broker, worker in this process (``conjure up``). Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select

from conjure.apps import AppSpec
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.registry import JobContext, JobKind
from conjure.jobs.service import submit_job
from conjure.runtime import Runtime
from conjure.settings import Settings
from harness import ROOT, Infra, conjure_env, infrastructure


async def noop(ctx: JobContext) -> dict[str, Any]:
    return {}


APP = AppSpec(name="bench", job_kinds=[JobKind(name="bench.noop", handler=noop)])


async def submit_batch(runtime: Runtime, start: int, size: int) -> None:
    async with runtime.db.session() as session:
        for i in range(start, start + size):
            await submit_job(
                session, runtime, user=None, kind="bench.noop", payload={"i": i, "t": time.time()}
            )


async def succeeded(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).where(Job.status == JobStatus.SUCCEEDED)) or 0)


async def throughput(runtime: Runtime, jobs: int, batch: int = 50, parallel: int = 4) -> dict[str, float]:
    base = await succeeded(runtime)
    started = time.perf_counter()
    sem = asyncio.Semaphore(parallel)

    async def one(start: int) -> None:
        async with sem:
            await submit_batch(runtime, start, min(batch, jobs - start))

    await asyncio.gather(*(one(s) for s in range(0, jobs, batch)))
    submitted = time.perf_counter() - started
    while await succeeded(runtime) < base + jobs:
        await asyncio.sleep(0.02)
    total = time.perf_counter() - started
    return {"jobs": jobs, "submit_per_s": round(jobs / submitted, 1), "jobs_per_s": round(jobs / total, 1)}


async def latency(runtime: Runtime, samples: int) -> dict[str, float]:
    """Submit one job at a time and wait for its ``succeeded`` event (what an SSE client sees)."""
    times = []
    for i in range(samples):
        started = time.perf_counter()
        async with contextlib.AsyncExitStack() as stack:
            async with runtime.db.session() as session:
                job = await submit_job(session, runtime, user=None, kind="bench.noop", payload={"lat": i})
                # Subscribed before the commit, so the final event cannot be missed.
                events = await stack.enter_async_context(runtime.broker.events.subscribe(job.id))
            while True:
                event = await events.get(10.0)
                if event is None or event["type"] == JobStatus.SUCCEEDED:
                    break
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "samples": samples,
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(times[max(int(len(times) * 0.99) - 1, 0)], 2),
    }


async def bench_pg_redis(infra: Infra, jobs: int, samples: int) -> dict[str, Any]:
    """Submit a backlog first, then start one worker process and time how fast it drains it."""
    env = conjure_env(infra, WORKER_CONCURRENCY="50")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        jwt_secret=env["JWT_SECRET"],
        var_dir=Path(env["VAR_DIR"]),
    )
    runtime = await Runtime.start(settings, apps=[APP])
    started = time.perf_counter()
    for start in range(0, jobs, 50):
        await submit_batch(runtime, start, min(50, jobs - start))
    submit_rate = jobs / (time.perf_counter() - started)
    worker = subprocess.Popen([sys.executable, __file__, "--role", "worker"], cwd=ROOT, env=env)
    try:
        while not await runtime.broker.workers():
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        while await succeeded(runtime) < jobs:
            await asyncio.sleep(0.02)
        drain_rate = jobs / (time.perf_counter() - started)
        result = {
            "jobs": jobs,
            "submit_per_s_one_client": round(submit_rate, 1),
            "worker_jobs_per_s": round(drain_rate, 1),
            **await latency(runtime, samples),
        }
        await runtime.close()
        return result
    finally:
        worker.terminate()
        worker.wait()


async def bench_embedded(jobs: int, samples: int) -> dict[str, Any]:
    from conjure.jobs.worker import start_embedded
    from conjure.migrations.runner import upgrade

    var = Path(tempfile.mkdtemp(prefix="conjure-bench-embedded-"))
    url = f"sqlite+aiosqlite:///{var / 'conjure.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(_env_file=None, database_url=url, var_dir=var, jwt_secret="b" * 40)  # type: ignore[call-arg]
    runtime = await Runtime.start(settings, apps=[APP])
    stop = await start_embedded(runtime)
    try:
        return {**await throughput(runtime, jobs, parallel=1), **await latency(runtime, samples)}
    finally:
        await stop()
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", default="bench")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--only", choices=["pg_redis", "embedded"])
    args = parser.parse_args()
    if args.role == "worker":
        from conjure.jobs.worker import run_worker

        asyncio.run(run_worker(Settings(), apps=[APP]))
        return
    results: dict[str, Any] = {}
    if args.only in (None, "pg_redis"):
        with infrastructure("jobs_bench") as infra:
            results["pg_redis_one_worker_process"] = asyncio.run(
                bench_pg_redis(infra, args.jobs, args.samples)
            )
    if args.only in (None, "embedded"):
        results["embedded"] = asyncio.run(bench_embedded(max(args.jobs // 4, 100), args.samples))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
