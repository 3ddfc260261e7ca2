"""Jobs end to end (submit → succeeded): worker throughput by process count, and light-load latency.

    python bench/jobs_bench.py [--jobs 2000] [--samples 200] [--workers 1,2] [--kinds noop,tarot]
                               [--only pg_redis|embedded] [--out jobs.json]
                               [--variants before=/tmp/old/src,after=src --rounds 3]

PostgreSQL + Redis: a backlog of ``--jobs`` jobs is submitted through ``submit_job``, then
1 (and 2) real worker processes (this file with ``--role worker``) drain it; every job is a
persisted row with its events. Kinds: ``noop`` (a handler that returns ``{}``) and ``tarot``
(the real ``tarot.reading`` job on the offline provider: hold, pipeline, result, reading row,
capture). Embedded: SQLite and the in-process broker, worker in this process (``conjure up``).

Each drain also reports CPU per job (process CPU seconds / jobs) of the worker processes,
PostgreSQL (postmaster, its live backends and the ones that exited) and Redis, and the CPU
steal of the VM over the drain: on a shared box jobs/s moves with the neighbours, CPU per job
much less. ``--variants`` runs the workers from other source trees (``PYTHONPATH``) in
alternation, ``--rounds`` times, on the same servers: the A/B comparison for a change.
Writes ``bench/results/jobs.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select

import floor
import peers
import probe
import scenarios
from conjure.apps import AppSpec, installed_apps
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.registry import JobContext, JobKind
from conjure.jobs.service import submit_job
from conjure.runtime import Runtime
from conjure.settings import Settings
from harness import RESULTS, ROOT, Infra, children, conjure_env, hot_frames, infrastructure, self_by_package

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


PROBING = bool(os.environ.get("BENCH_PROBE"))


async def noop(ctx: JobContext) -> dict[str, Any]:
    if PROBING:
        probe.stamp(ctx.job_id, "handled")
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
            await submit_job(session, runtime, user_id=user.id if user else None, kind=kind, payload=payload)


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
                job = await submit_job(session, runtime, user_id=None, kind="bench.noop", payload={"lat": i})
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


def cpu_seconds(pid: int, *, with_exited_children: bool = False) -> float:
    """User + system CPU of a process (optionally plus its waited-for children) from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After the command: state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based here.
    ticks = int(fields[11]) + int(fields[12])
    if with_exited_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def postmaster_pid(database_url: str) -> int | None:
    """The PostgreSQL server listening on the URL's port (its command line has ``-p PORT``)."""
    port = database_url.rsplit(":", 1)[1].split("/", 1)[0]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"postgres") and b"-p" in argv and port.encode() in argv:
            return int(proc.name)
    return None


def server_cpu(infra: Infra) -> dict[str, float]:
    """CPU seconds so far of PostgreSQL (all its processes, exited backends too) and Redis."""
    pg = postmaster_pid(infra.database_url)
    pg_cpu = 0.0
    if pg is not None:
        pg_cpu = cpu_seconds(pg, with_exited_children=True) + sum(cpu_seconds(c) for c in children(pg))
    redis = infra.redis.process
    return {"postgres": pg_cpu, "redis": cpu_seconds(redis.pid) if redis is not None else 0.0}


def steal_ticks() -> tuple[int, int]:
    """(steal, total) jiffies of the whole VM from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return values[7], sum(values)


async def drain(
    runtime: Runtime,
    infra: Infra,
    env: dict[str, str],
    kind: str,
    jobs: int,
    processes: int,
    profile: str | None = None,
) -> dict[str, Any]:
    """Submit a backlog of ``jobs``, then time ``processes`` worker processes draining it
    (with ``profile``, py-spy samples the first one: ``profile-LABEL-worker.txt``)."""
    users = await bench_users(runtime) if kind == "tarot.reading" else None
    base = await succeeded(runtime, kind)
    started = time.perf_counter()
    for start in range(0, jobs, 50):
        await submit_batch(runtime, start, min(50, jobs - start), kind, users)
    submit_rate = jobs / (time.perf_counter() - started)
    role = "worker-tarot" if kind == "tarot.reading" else "worker"
    gate = Path(tempfile.mkdtemp(prefix="conjure-bench-gate-")) / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "--role", role], cwd=ROOT, env={**env, "BENCH_GATE": str(gate)}
        )
        for _ in range(processes)
    ]
    try:
        # All worker processes have imported everything; let them start together and time from there.
        while len(list(gate.parent.glob("go.*"))) < processes:
            await asyncio.sleep(0.01)
        spy = start_py_spy(workers[0].pid, profile) if profile else None
        gate.touch()
        started = time.perf_counter()
        worker_cpu = sum(cpu_seconds(w.pid) for w in workers)
        servers = server_cpu(infra)
        steal = steal_ticks()
        while await succeeded(runtime, kind) < base + jobs:
            await asyncio.sleep(0.02)
        rate = jobs / (time.perf_counter() - started)
        worker_cpu = sum(cpu_seconds(w.pid) for w in workers) - worker_cpu
        servers = {name: used - servers[name] for name, used in server_cpu(infra).items()}
        steal = tuple(now - then for now, then in zip(steal_ticks(), steal, strict=True))  # type: ignore[assignment]
        if spy is not None and profile:
            stop_py_spy(spy, profile)
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
        # Per job, in ms of CPU: the worker processes (the figure to compare), the servers.
        "worker_cpu_ms_per_job": round(1000 * worker_cpu / jobs, 3),
        "postgres_cpu_ms_per_job": round(1000 * servers["postgres"] / jobs, 3),
        "redis_cpu_ms_per_job": round(1000 * servers["redis"] / jobs, 3),
        "cpu_steal_pct": round(100 * steal[0] / max(steal[1], 1), 1),
    }


async def bench_worker(settings: Settings, apps: list[AppSpec], ready: Any) -> None:
    """What ``conjure worker`` runs (``run_worker``: a worker and the scheduler until SIGTERM),
    with the start gate between the runtime's start-up and the first fetch. Written out here
    rather than passed into ``run_worker`` so that the A/B variants' older trees run it too."""
    from conjure.jobs import worker

    if PROBING:
        probe.install_worker_probe()
    runtime = await Runtime.start(settings, apps=apps)
    if hasattr(worker, "settle_heap"):  # what run_worker does after start-up, where it does
        worker.settle_heap()
    await ready()
    stop_event = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop_event.set)
    stop = await worker.start_embedded(runtime)
    try:
        await stop_event.wait()
    finally:
        await stop()
        await runtime.close()
        probe.dump_worker_stamps()


def start_py_spy(pid: int, label: str) -> subprocess.Popen[bytes]:
    """py-spy on a worker process (collapsed stacks) until :func:`stop_py_spy`."""
    out = RESULTS / f"profile-{label}-worker.collapsed"
    RESULTS.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking", "--format", "raw",
         "-r", "500", "-p", str(pid), "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.5)  # attached before the gate opens
    return spy


def stop_py_spy(spy: subprocess.Popen[bytes], label: str) -> None:
    """Stop sampling (py-spy writes its file on SIGINT) and summarise the hottest frames."""
    spy.send_signal(signal.SIGINT)
    spy.wait(30)
    raw = RESULTS / f"profile-{label}-worker.collapsed"
    if not raw.exists():
        return
    lines = ["CPU samples by the package of the innermost frame:"]
    lines += [f"{share:5.1f}%  {name}" for name, share in self_by_package(raw)[:15]]
    lines.append("Hottest frames (inclusive %, self %):")
    lines += [f"{inc:5.1f}% {own:5.1f}%  {frame}" for frame, inc, own in hot_frames(raw, top=80)]
    (RESULTS / f"profile-{label}-worker.txt").write_text("\n".join(lines) + "\n")


def bench_settings(infra: Infra, env: dict[str, str], **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        jwt_secret=env["JWT_SECRET"],
        var_dir=Path(env["VAR_DIR"]),
        **extra,
    )


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, "--role", "worker"], cwd=ROOT, env=env)


async def bench_flood(infra: Infra, env: dict[str, str], jobs: int, seconds: float) -> dict[str, Any]:
    """The flood: ``jobs`` from one user, one job a second from each of 50 others; with the
    default fair dispatch, then with it off (bounds so large that dispatch is plain FIFO)."""
    out: dict[str, Any] = {}
    unbounded = {"JOB_MAX_INFLIGHT_PER_USER": "100000000", "JOB_DISPATCH_WINDOW": "100000000"}
    for label, extra in (("fair", {}), ("fifo", unbounded)):
        settings = bench_settings(infra, env, **{k.lower(): int(v) for k, v in extra.items()})
        runtime = await Runtime.start(settings, apps=[APP])
        try:
            users = await bench_users(runtime, 51)
            base = await succeeded(runtime)
            result = await scenarios.flood(
                runtime,
                infra.redis_url,
                users[0].id,
                [u.id for u in users[1:]],
                lambda extra=extra: start_worker({**env, **extra}),  # type: ignore[misc]
                jobs=jobs,
                seconds=seconds,
            )
            # Drain what is left of the flood before the next run.
            worker = start_worker({**env, **extra})
            try:
                while await succeeded(runtime) < base + jobs + result["light_jobs"]:
                    await asyncio.sleep(0.1)
            finally:
                worker.terminate()
                worker.wait()
            out[label] = result
            print(json.dumps({f"flood_{label}": result}), flush=True)
        finally:
            await runtime.close()
    return out


async def bench_pg_redis(
    infra: Infra,
    jobs: int,
    samples: int,
    kinds: list[str],
    process_counts: list[int],
    variants: dict[str, str] | None = None,
    rounds: int = 1,
    profile: str | None = None,
    probing: bool = False,
) -> dict[str, Any]:
    """Backlog drains for each kind and worker-process count, then event latency at light load.

    With ``variants`` (label -> source directory), each drain and each latency run happens
    ``rounds`` times per variant, the variants in alternation."""
    env = conjure_env(infra, AI_PROVIDER="offline")
    settings = bench_settings(infra, env)
    runtime = await Runtime.start(settings, apps=[*installed_apps(), APP])
    results: dict[str, Any] = {}
    try:
        if variants:
            for name in kinds:
                for processes in process_counts:
                    for round_ in range(1, rounds + 1):
                        for label, source in variants.items():
                            variant_env = {**env, "PYTHONPATH": str(Path(source).resolve())}
                            spied = f"{profile}-{label}" if profile else None
                            result = await drain(
                                runtime, infra, variant_env, KINDS[name], jobs, processes, spied
                            )
                            key = f"{name}_workers_{processes}_{label}_round_{round_}"
                            results[key] = result
                            print(json.dumps({key: result}), flush=True)
            if samples:
                for round_ in range(1, rounds + 1):
                    for label, source in variants.items():
                        variant_env = {**env, "PYTHONPATH": str(Path(source).resolve())}
                        key = f"noop_latency_{label}_round_{round_}"
                        results[key] = await light_latency(runtime, infra, variant_env, samples)
                        print(json.dumps({key: results[key]}), flush=True)
            return results
        for name in kinds:
            for processes in process_counts:
                result = await drain(runtime, infra, env, KINDS[name], jobs, processes, profile)
                results[f"{name}_workers_{processes}"] = result
                print(json.dumps({f"{name}_workers_{processes}": result}), flush=True)
        results["noop_latency_one_worker"] = await light_latency(
            runtime, infra, env, samples, profile=profile
        )
        print(json.dumps({"noop_latency_one_worker": results["noop_latency_one_worker"]}), flush=True)
        if probing:
            results["noop_latency_stages"] = await light_latency(runtime, infra, env, samples, True)
            print(json.dumps({"noop_latency_stages": results["noop_latency_stages"]}, indent=1), flush=True)
    finally:
        await runtime.close()
    return results


async def light_latency(
    runtime: Runtime,
    infra: Infra,
    env: dict[str, str],
    samples: int,
    probing: bool = False,
    profile: str | None = None,
) -> dict[str, Any]:
    """One worker process; one job at a time, submitted as the API does, until ``succeeded``.
    ``probing``: also where the time goes, stage by stage (``probe.py``)."""
    stamps = Path(tempfile.mkstemp(prefix="conjure-probe-")[1])
    worker = start_worker({**env, "BENCH_PROBE": str(stamps)} if probing else env)
    result: dict[str, Any] = {}
    try:
        while not await runtime.broker.workers():
            await asyncio.sleep(0.01)
        [user] = await bench_users(runtime, 1)
        spy = start_py_spy(worker.pid, f"{profile}-light") if profile else None
        before = cpu_seconds(worker.pid)
        if probing:
            await probed_latency(runtime, infra, user.id, samples)
        else:
            result = await scenarios.route_latency(runtime, infra.redis_url, user.id, samples)
            result["worker_cpu_ms_per_job"] = round(1000 * (cpu_seconds(worker.pid) - before) / samples, 3)
        if spy is not None:
            stop_py_spy(spy, f"{profile}-light")
    finally:
        worker.terminate()
        worker.wait()
        for _ in range(150):  # gone from the registry before the next run counts workers
            if not await runtime.broker.workers():
                break
            await asyncio.sleep(0.2)
    if probing:
        result = probe.breakdown(probe.STAMPS, json.loads(stamps.read_text() or "{}"))
    return result


async def probed_latency(runtime: Runtime, infra: Infra, user_id: Any, samples: int) -> None:
    """``scenarios.route_latency`` with the bench's stamps (submitted, inserted, dispatched, seen)."""
    from conjure.jobs.service import submit_job_now

    probe.install_bench_probe()
    async with scenarios.Outcomes(infra.redis_url) as outcomes:
        for i in range(samples):
            started = time.perf_counter()
            job = await submit_job_now(runtime, user_id=user_id, kind="bench.noop", payload={"lat": i})
            seen = await outcomes.wait(job.id)
            probe.STAMPS.setdefault(str(job.id), {}).update(submitted=started, seen=seen)


async def run_peer(name: str, infra: Any, jobs: int, samples: int) -> dict[str, Any]:
    """One peer on the run's servers: taskiq, pgqueuer, or the bare durable loop ``floor2``
    (row, XADD, settle) / ``floor3`` (with a claim), the floor under Conjure's design."""
    if name == "taskiq":
        return await peers.bench_taskiq(infra.redis_url, jobs, samples)
    if name == "pgqueuer":
        return await peers.bench_pgqueuer(infra.database_url, jobs, samples)
    if name in ("floor2", "floor3"):
        claim = name == "floor3"
        return await floor.bench_floor(infra.database_url, infra.redis_url, jobs, samples, claim=claim)
    raise SystemExit(f"unknown peer {name!r} (taskiq, pgqueuer, floor2, floor3)")


def ratios(results: dict[str, Any]) -> dict[str, float]:
    """Conjure against the peers measured in the same run (throughput: higher is better for
    Conjure; latency: lower is better)."""
    pg = results.get("pg_redis", {})
    peers = results.get("peers", {})
    mine = pg.get("noop_workers_1", {}).get("jobs_per_s_per_process")
    latency = pg.get("noop_latency_one_worker", {})
    out: dict[str, float] = {}
    for name, peer in peers.items():
        if mine:
            out[f"jobs_per_s_vs_{name}"] = round(mine / peer["jobs_per_s_per_process"], 2)
        if latency:
            out[f"latency_p50_vs_{name}"] = round(latency["p50_ms"] / peer["latency"]["p50_ms"], 2)
    return out


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
    parser.add_argument(
        "--variants", help="label=src_dir,... : run the workers from these source trees, in alternation"
    )
    parser.add_argument("--rounds", type=int, default=1, help="drains per variant (with --variants)")
    parser.add_argument("--profile", metavar="LABEL", help="py-spy on the (first) worker of each drain")
    parser.add_argument("--probe", action="store_true", help="latency by stage (bench/probe.py)")
    parser.add_argument("--flood", type=int, default=10_000, help="the flood's size (0: no flood runs)")
    parser.add_argument("--flood-seconds", type=float, default=5.0, help="how long light users submit")
    parser.add_argument(
        "--peers",
        default="taskiq,pgqueuer,floor2,floor3",
        help="peers to run in the same run ('' for none): taskiq, pgqueuer, floor2, floor3",
    )
    args = parser.parse_args()
    if args.role in ("worker", "worker-tarot"):
        from conjure.observability.logging import configure_logging

        # As `conjure worker` does (cli.py): the bench's LOG_LEVEL=WARNING then holds, instead of
        # structlog's default console logger rendering a line per job.
        settings = Settings()
        configure_logging(json_logs=settings.is_production, level=settings.log_level)
        apps = [APP] if args.role == "worker" else installed_apps()
        gate = os.environ.get("BENCH_GATE")

        async def ready() -> None:
            # Started (imports, connections): say so, then wait for the others, so that the drain
            # is timed from the start gate as the peers' are from their first job (a loaded box
            # starts processes seconds apart, and start-up is not a cost per job).
            if gate:
                Path(f"{gate}.{os.getpid()}").touch()
                while not Path(gate).exists():
                    await asyncio.sleep(0.005)

        from conjure.jobs import worker

        # As `conjure worker` runs its loop, where the tree has that (the A/B variants' older ones).
        getattr(worker, "serve", asyncio.run)(bench_worker(settings, apps, ready))
        return
    results: dict[str, Any] = {"load_average_at_start": os.getloadavg()}
    if args.only in (None, "pg_redis"):
        kinds = args.kinds.split(",")
        counts = [int(n) for n in args.workers.split(",")]
        variants = dict(v.split("=", 1) for v in args.variants.split(",")) if args.variants else None
        results["worker_concurrency"] = os.environ.get("WORKER_CONCURRENCY", "10")
        with infrastructure("jobs_bench") as infra:
            results["pg_redis"] = asyncio.run(
                bench_pg_redis(
                    infra,
                    args.jobs,
                    args.samples,
                    kinds,
                    counts,
                    variants,
                    args.rounds,
                    args.profile,
                    args.probe,
                )
            )
            if args.flood and not variants:
                env = conjure_env(infra, AI_PROVIDER="offline")
                results["flood"] = asyncio.run(bench_flood(infra, env, args.flood, args.flood_seconds))
            results["peers"] = {}
            for name in filter(None, args.peers.split(",")):
                results["peers"][name] = asyncio.run(run_peer(name, infra, args.jobs, args.samples))
                print(json.dumps({name: results["peers"][name]}), flush=True)
            results["ratios"] = ratios(results)
    if args.only in (None, "embedded"):
        results["embedded"] = asyncio.run(bench_embedded(max(args.jobs // 4, 100), args.samples))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
