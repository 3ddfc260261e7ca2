"""The viral-spike drill: many users ask for readings within a minute; a slow, bounded provider.

    python bench/viral_drill.py [--users 600] [--attempts 3] [--limit 1/minute] [--window 60]
    python bench/viral_drill.py --users 5000          # the full-size drill (~25 min of draining)

PostgreSQL + Redis, 2 API processes, 2 worker processes (``AI_MAX_CONCURRENCY=10`` and
``WORKER_CONCURRENCY=10`` each, so together they never ask for more than the provider's
20), and ``bench/fake_provider.py`` as the OpenAI-compatible provider: 2 s per call, 20 at
once, 429 beyond. Each user sends ``--attempts`` reading requests a few seconds apart;
users start spread over ``--window`` seconds. Every tarot reading makes 3 model calls
(filter, analyze, read), so the provider drains 20 / (3 x 2 s) = 3.3 readings/s.

Checks (exit 1 when one fails): no user got more requests accepted within one window than the limit allows,
the provider never saw more than its bound (and never answered 429), every accepted job
ended terminal, the backlog drained at the provider's rate, ``conjure wallet check``
passes and every user's stars add up, API and worker RSS stayed bounded. Writes
``bench/results/viral_drill.json`` and the drain curve ``bench/results/drain.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from harness import (
    RESULTS,
    ROOT,
    Infra,
    children,
    conjure_api,
    conjure_env,
    free_port,
    infrastructure,
    process,
    rss_kib,
    seed_users,
)

STARS_EACH = 2
IN_FLIGHT = 200  # the load generator's concurrent requests
TERMINAL = ("succeeded", "failed", "dlq", "canceled")


async def load(base: str, users: list[tuple[str, str]], attempts: int, window: float) -> dict[str, Any]:
    """Every user sends ``attempts`` reading requests 2 s apart, users spread over ``window`` s."""
    # Per user, each attempt as (status, client send time, client receive time), monotonic seconds.
    statuses: dict[str, list[tuple[int, float, float]]] = {uid: [] for uid, _ in users}
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    # Requests beyond the pool wait here, not in httpcore's queue: its scheduling is quadratic in
    # the number of waiting requests, and at 5,000 users the load generator itself stalled.
    gate = asyncio.Semaphore(IN_FLIGHT)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def user(index: int, uid: str, token: str) -> None:
            await asyncio.sleep(window * index / len(users) + random.random() * 0.5)
            for n in range(attempts):
                async with gate:
                    started = time.perf_counter()
                    try:
                        r = await client.post(
                            "/api/v1/tarot/read",
                            json={"question": f"Will my venture number {index}-{n} go well this year?"},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                        code = r.status_code
                    except httpx.HTTPError:
                        code = 0
                    statuses[uid].append((code, started, time.perf_counter()))
                    latencies.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(2)

        started = time.monotonic()
        await asyncio.gather(*(user(i, uid, tok) for i, (uid, tok) in enumerate(users)))
    latencies.sort()
    codes = Counter(code for attempts in statuses.values() for code, _, _ in attempts)
    return {
        "statuses": statuses,
        "codes": {str(k): v for k, v in sorted(codes.items())},
        "submit_seconds": round(time.monotonic() - started, 1),
        "submit_p50_ms": round(latencies[len(latencies) // 2], 1),
        "submit_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
    }


async def sample(dsn: str, provider: str, pids: dict[str, list[int]], base: str) -> dict[str, Any]:
    """One point of the timeline: jobs by status, provider concurrency, RSS per process (MiB),
    and how long the API takes to answer ``/health`` (its responsiveness, apart from the database)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM jobs GROUP BY status")
    finally:
        await conn.close()
    # Async: a blocking call here would stall the load generator's event loop (and its timings).
    async with httpx.AsyncClient(timeout=30) as client:
        stats = (await client.get(f"{provider}/stats")).json()
        started = time.perf_counter()
        await client.get(f"{base}/health")
        health_ms = round((time.perf_counter() - started) * 1000, 1)
    return {
        "api_health_ms": health_ms,
        "jobs": {r["status"]: r["n"] for r in rows},
        "provider_in_flight": stats["in_flight"],
        "rss_mib": {role: [round(rss_kib(p) / 1024, 1) for p in ps] for role, ps in pids.items()},
    }


async def drill(
    args: argparse.Namespace,
    infra: Infra,
    base: str,
    provider: str,
    pids: dict[str, list[int]],
    users: list[tuple[str, str]],
) -> dict[str, Any]:
    dsn = infra.database_url.replace("+asyncpg", "")
    timeline: list[dict[str, Any]] = []
    started = time.monotonic()
    done_loading = asyncio.Event()

    async def monitor() -> None:
        while True:
            point = await sample(dsn, provider, pids, base)
            point["t"] = round(time.monotonic() - started, 1)
            timeline.append(point)
            jobs = point["jobs"]
            pending = jobs.get("queued", 0) + jobs.get("processing", 0)
            if done_loading.is_set() and pending == 0:
                return
            if time.monotonic() - started > args.max_seconds:
                return
            await asyncio.sleep(1)

    watcher = asyncio.create_task(monitor())
    result = await load(base, users, args.attempts, args.window)
    done_loading.set()
    await watcher
    result["timeline"] = timeline
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    return result


def window_seconds(limit: str) -> float:
    """The window of a ``limits`` spec such as ``1/minute`` or ``10/2 hours``."""
    per = limit.split("/", 1)[1].split()
    count, unit = (int(per[0]), per[1]) if len(per) == 2 else (1, per[0])
    seconds: dict[str, float] = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
    return count * seconds[unit.rstrip("s")]


def users_over_limit(
    statuses: dict[str, list[tuple[int, float, float]]], allowed: int, window: float
) -> list[str]:
    """Users with more than ``allowed`` requests accepted within one window.

    Client-side times bracket the server's: two accepts are surely closer than the window on the
    server when the later one's answer came back sooner than ``window`` after the earlier was sent.
    (When the load generator queues a user's attempts, they can legitimately span two windows.)
    """
    over = []
    for uid, attempts in statuses.items():
        accepts = sorted((sent, received) for code, sent, received in attempts if code == 202)
        if any(accepts[i + allowed][1] - accepts[i][0] < window for i in range(len(accepts) - allowed)):
            over.append(uid)
    return over


def wait_for_workers(redis_url: str, count: int, timeout: float = 120) -> None:
    """Start the spike only once every worker process has announced itself (imports take a while)."""
    import redis

    from conjure.jobs import keys

    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while client.hlen(keys.WORKERS) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start")
        time.sleep(0.2)
    client.close()


def drain_rate(timeline: list[dict[str, Any]]) -> float:
    """Readings finished per second between 10 % and 90 % of the final total (the steady drain)."""
    done = [(p["t"], sum(p["jobs"].get(s, 0) for s in TERMINAL)) for p in timeline]
    total = done[-1][1]
    t10 = next(t for t, n in done if n >= 0.1 * total)
    t90 = next(t for t, n in done if n >= 0.9 * total)
    return round(0.8 * total / max(t90 - t10, 1e-9), 2)


def plot(timeline: list[dict[str, Any]], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [p["t"] for p in timeline]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(t, [p["jobs"].get("queued", 0) for p in timeline], label="queued (backlog)")
    ax.plot(t, [p["jobs"].get("processing", 0) for p in timeline], label="processing")
    ax.plot(t, [sum(p["jobs"].get(s, 0) for s in TERMINAL) for p in timeline], label="finished")
    ax.plot(t, [p["provider_in_flight"] for p in timeline], label="provider calls in flight", linestyle=":")
    ax.set_xlabel("seconds since the first request")
    ax.set_ylabel("jobs")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def check_wallets(infra: Infra, users: list[tuple[str, str]]) -> tuple[int, list[str]]:
    """``conjure wallet check``'s exit status, and users whose stars do not add up."""
    env = conjure_env(infra)
    check = subprocess.run(
        [sys.executable, "-m", "conjure.cli", "wallet", "check"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )

    async def per_user() -> list[str]:
        conn = await asyncpg.connect(infra.database_url.replace("+asyncpg", ""))
        try:
            rows = await conn.fetch(
                "SELECT u.id, u.star_balance, u.stars_held,"
                " (SELECT count(*) FROM jobs j WHERE j.user_id = u.id AND j.status = 'succeeded') AS ok"
                " FROM users u"
            )
        finally:
            await conn.close()
        ids = {uid for uid, _ in users}
        return [
            f"{r['id']}: {r['star_balance']} stars, {r['stars_held']} held, {r['ok']} succeeded"
            for r in rows
            if str(r["id"]) in ids and (r["star_balance"] != STARS_EACH - r["ok"] or r["stars_held"] != 0)
        ]

    return check.returncode, asyncio.run(per_user())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--attempts", type=int, default=3, help="reading requests per user")
    parser.add_argument("--limit", default="1/minute", help="per-user rate limit (RATE_LIMIT_DEFAULT)")
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which users arrive")
    parser.add_argument("--delay", type=float, default=2.0, help="provider seconds per call")
    parser.add_argument("--bound", type=int, default=20, help="provider concurrency bound")
    parser.add_argument("--api-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--max-seconds", type=float, default=3600)
    parser.add_argument("--out", default="viral_drill")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    per_worker = args.bound // args.workers
    allowed = int(args.limit.split("/")[0])
    with infrastructure("viral") as infra:
        users = asyncio.run(seed_users(infra, args.users, stars=STARS_EACH, prefix="viral"))
        port = free_port()
        provider = f"http://127.0.0.1:{port}"
        fake_cmd = [
            sys.executable,
            str(Path(__file__).parent / "fake_provider.py"),
            "--port",
            str(port),
            "--delay",
            str(args.delay),
            "--limit",
            str(args.bound),
        ]
        extra = {
            "AI_PROVIDER": "openai",
            "OPENAI_BASE_URL": f"{provider}/v1",
            "OPENAI_API_KEY": "drill",
            "AI_MAX_CONCURRENCY": str(per_worker),
            "WORKER_CONCURRENCY": str(per_worker),
            "RATE_LIMIT_DEFAULT": args.limit,
        }
        env = conjure_env(infra, **extra)
        with process(fake_cmd, dict(os.environ), ready_url=f"{provider}/stats"):
            base, api_ctx = conjure_api(infra, workers=args.api_processes, **extra)
            with api_ctx as api:
                workers = [
                    process([sys.executable, "-m", "conjure.cli", "worker"], env) for _ in range(args.workers)
                ]
                procs = [w.__enter__() for w in workers]
                try:
                    wait_for_workers(infra.redis_url, args.workers)
                    pids = {"api": children(api.pid) or [api.pid], "worker": [p.pid for p in procs]}
                    result = asyncio.run(drill(args, infra, base, provider, pids, users))
                finally:
                    for w in workers:
                        w.__exit__(None, None, None)
            stats = httpx.get(f"{provider}/stats", timeout=5).json()
        wallet_exit, bad_users = check_wallets(infra, users)

    statuses: dict[str, list[tuple[int, float, float]]] = result.pop("statuses")
    accepted = {uid: sum(code == 202 for code, _, _ in attempts) for uid, attempts in statuses.items()}
    over_limit = users_over_limit(statuses, allowed, window_seconds(args.limit))
    timeline = result["timeline"]
    final = timeline[-1]["jobs"]
    total_jobs = sum(final.values())
    expected_rate = args.bound / (args.delay * 3)
    rate = drain_rate(timeline)
    rss_peak = {role: max(max(p["rss_mib"][role]) for p in timeline) for role in ("api", "worker")}
    after_load = next((p for p in timeline if p["t"] >= args.window + 5), timeline[-1])
    rss_after_load = {role: max(after_load["rss_mib"][role]) for role in ("api", "worker")}
    rss_end = {role: max(timeline[-1]["rss_mib"][role]) for role in ("api", "worker")}
    checks = {
        "rate_limit_holds": not over_limit,
        "provider_within_bound": stats["max_in_flight"] <= args.bound and stats["rejected_429"] == 0,
        "every_accepted_job_terminal": sum(accepted.values()) == total_jobs
        and all(s in TERMINAL for s in final),
        "drains_at_provider_rate": rate >= 0.8 * expected_rate,
        "wallet_check_passes": wallet_exit == 0 and not bad_users,
        "memory_bounded": all(v < 600 for v in rss_peak.values())
        and all(rss_end[r] < 1.5 * rss_after_load[r] + 50 for r in rss_end),
    }
    summary_ = {
        "users": args.users,
        "attempts_per_user": args.attempts,
        "rate_limit": args.limit,
        "arrival_window_s": args.window,
        "api_processes": args.api_processes,
        "worker_processes": args.workers,
        "ai_max_concurrency_per_worker": per_worker,
        "provider": stats,
        "responses": result["codes"],
        "accepted": sum(accepted.values()),
        "max_accepted_per_user": max(accepted.values()),
        "users_over_limit": over_limit[:10],
        "final_jobs": final,
        "submit_p50_ms": result["submit_p50_ms"],
        "submit_p99_ms": result["submit_p99_ms"],
        "load_seconds": result["submit_seconds"],
        "drain_rate_per_s": rate,
        "provider_rate_per_s": round(expected_rate, 2),
        "elapsed_s": result["elapsed_s"],
        "wallet_check_exit": wallet_exit,
        "users_with_wrong_stars": bad_users[:10],
        "rss_mib_peak": rss_peak,
        "rss_mib_after_load": rss_after_load,
        "rss_mib_end": rss_end,
        "checks": checks,
    }
    (RESULTS / f"{args.out}.json").write_text(json.dumps({**summary_, "timeline": timeline}, indent=1) + "\n")
    title = f"Viral drill: {args.users} users, provider {args.bound} x {args.delay:g} s calls"
    plot(timeline, RESULTS / ("drain.png" if args.out == "viral_drill" else f"{args.out}.png"), title)
    print(json.dumps(summary_, indent=2))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    os.chdir(ROOT)
    raise SystemExit(main())
