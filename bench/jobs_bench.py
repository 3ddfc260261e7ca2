"""Jobs end to end (submit → succeeded): worker throughput by process count, and light-load latency.

    python bench/jobs_bench.py [--jobs 2000] [--samples 200] [--workers 1,2] [--kinds noop,tarot]
                               [--only pg_redis|embedded]

PostgreSQL + Redis: a backlog of ``--jobs`` jobs is submitted through ``submit_job``, then
1 (and 2) real worker processes (this file with ``--role worker``) drain it; every job is a
persisted row with its events. Kinds: ``noop`` (a handler that returns ``{}``) and ``tarot``
(the real ``tarot.reading`` job on the offline provider: hold, pipeline, result, reading row,
capture). Embedded: SQLite and the in-process broker, worker in this process (``conjure up``).
Writes ``bench/results/jobs.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select

from conjure.apps import AppSpec, installed_apps
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.registry import JobContext, JobKind
from conjure.jobs.service import submit_job
from conjure.runtime import Runtime
from conjure.settings import Settings
from harness import RESULTS, ROOT, Infra, conjure_env, infrastructure


async def noop(ctx: JobContext) -> dict[str, Any]:
    return {}


APP = AppSpec(name="bench", job_kinds=[JobKind(name="bench.noop", handler=noop)])


KINDS = {"noop": "bench.noop", "tarot": "tarot.reading"}


async def bench_users(runtime: Runtime, count: int = 100) -> list[Any]:
    """Users with enough stars for the priced (tarot) jobs; many, as in production, so the
    per-user wallet row lock taken on capture does not serialize the workers."""
    from conjure.users.service import create_user
    from conjure.wallet.service import credit

    users = []
    async with runtime.db.session() as session:
        for i in range(count):
            user = await create_user(
                session, runtime.settings, email=f"jobs-bench-{i}-{time.time_ns()}@example.com"
            )
            await credit(
                session, user.id, amount=1_000_000, currency="star", tx_type="grant",
                idempotency_key=f"bench-grant:{user.id}",
            )  # fmt: skip
            users.append(user)
    return users


async def submit_batch(
    runtime: Runtime, start: int, size: int, kind: str = "bench.noop", users: list[Any] | None = None
) -> None:
    async with runtime.db.session() as session:
        for i in range(start, start + size):
            user = users[i % len(users)] if users else None
            payload: dict[str, Any] = {"i": i, "t": time.time()}
            if kind == "tarot.reading":
                payload = {"question": f"Will benchmark question {i} at {time.time_ns()} go well?"}
            await submit_job(session, runtime, user=user, kind=kind, payload=payload)


async def succeeded(runtime: Runtime, kind: str | None = None) -> int:
    async with runtime.db.session() as session:
        query = select(func.count()).where(Job.status == JobStatus.SUCCEEDED)
        if kind is not None:
            query = query.where(Job.kind == kind)
        return int(await session.scalar(query) or 0)


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


async def drain(
    runtime: Runtime, env: dict[str, str], kind: str, jobs: int, processes: int
) -> dict[str, Any]:
    """Submit a backlog of ``jobs``, then time ``processes`` worker processes draining it."""
    users = await bench_users(runtime) if kind == "tarot.reading" else None
    base = await succeeded(runtime, kind)
    started = time.perf_counter()
    for start in range(0, jobs, 50):
        await submit_batch(runtime, start, min(50, jobs - start), kind, users)
    submit_rate = jobs / (time.perf_counter() - started)
    role = "worker-tarot" if kind == "tarot.reading" else "worker"
    workers = [
        subprocess.Popen([sys.executable, __file__, "--role", role], cwd=ROOT, env=env)
        for _ in range(processes)
    ]
    try:
        while len(await runtime.broker.workers()) < processes:
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        while await succeeded(runtime, kind) < base + jobs:
            await asyncio.sleep(0.02)
        rate = jobs / (time.perf_counter() - started)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait()
    # Stopped workers leave the registry; wait for that before the next round counts them.
    for _ in range(150):
        if not await runtime.broker.workers():
            break
        await asyncio.sleep(0.2)
    return {
        "jobs": jobs,
        "worker_processes": processes,
        "submit_per_s_one_client": round(submit_rate, 1),
        "jobs_per_s": round(rate, 1),
        "jobs_per_s_per_process": round(rate / processes, 1),
    }


async def bench_pg_redis(
    infra: Infra, jobs: int, samples: int, kinds: list[str], process_counts: list[int]
) -> dict[str, Any]:
    """Backlog drains for each kind and worker-process count, then event latency at light load."""
    env = conjure_env(infra, WORKER_CONCURRENCY="10", AI_PROVIDER="offline")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        jwt_secret=env["JWT_SECRET"],
        var_dir=Path(env["VAR_DIR"]),
    )
    runtime = await Runtime.start(settings, apps=[*installed_apps(), APP])
    results: dict[str, Any] = {}
    try:
        for name in kinds:
            for processes in process_counts:
                result = await drain(runtime, env, KINDS[name], jobs, processes)
                results[f"{name}_workers_{processes}"] = result
                print(json.dumps({f"{name}_workers_{processes}": result}), flush=True)
        worker = subprocess.Popen([sys.executable, __file__, "--role", "worker"], cwd=ROOT, env=env)
        try:
            while not await runtime.broker.workers():
                await asyncio.sleep(0.01)
            results["noop_latency_one_worker"] = await latency(runtime, samples)
        finally:
            worker.terminate()
            worker.wait()
    finally:
        await runtime.close()
    return results


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
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--role", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--workers", default="1,2", help="worker process counts, comma separated")
    parser.add_argument("--kinds", default="noop,tarot", help="noop and/or tarot (offline provider)")
    parser.add_argument("--only", choices=["pg_redis", "embedded"])
    parser.add_argument("--out", default="jobs.json", help="results file name under bench/results/")
    args = parser.parse_args()
    if args.role in ("worker", "worker-tarot"):
        from conjure.jobs.worker import run_worker

        apps = [APP] if args.role == "worker" else installed_apps()
        asyncio.run(run_worker(Settings(), apps=apps))
        return
    results: dict[str, Any] = {"load_average_at_start": os.getloadavg()}
    if args.only in (None, "pg_redis"):
        kinds = args.kinds.split(",")
        counts = [int(n) for n in args.workers.split(",")]
        with infrastructure("jobs_bench") as infra:
            results["pg_redis"] = asyncio.run(bench_pg_redis(infra, args.jobs, args.samples, kinds, counts))
    if args.only in (None, "embedded"):
        results["embedded"] = asyncio.run(bench_embedded(max(args.jobs // 4, 100), args.samples))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
