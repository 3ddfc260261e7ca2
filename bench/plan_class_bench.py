"""What the plan's queue class costs a submit: API-process CPU per ``conjure.kit.submit``.

    python bench/plan_class_bench.py [--users 200] [--submits 400] [--rounds 6]

On PostgreSQL + Redis (private servers), one process submits ``bench.noop`` jobs through
``conjure.kit.submit`` for many users, three ways in alternation (A, B, C, then B, C, A, …: each
way in each position) so a noisy machine affects each alike:

- ``explicit``: the route names the class (no plan read: what a submit did before plan lanes);
- ``cached``: the class from the user's plan, read through the per-process cache (warm);
- ``uncached``: the plan read on every submit (``PLAN_CACHE_SECONDS=0``), the cost the cache avoids.

Reports CPU ms per submit of this process (``time.process_time``) and wall ms per submit.
Writes ``bench/results/plan_class.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conjure.billing.plans import PlanCache
from conjure.jobs import keys
from conjure.jobs.lanes import Priority
from conjure.kit.submit import SubmitOptions, submit
from conjure.runtime import Runtime
from harness import RESULTS, Infra, infrastructure
from jobs_bench import APP, bench_settings, bench_users, conjure_env

WAYS = ("explicit", "cached", "uncached")


async def one_round(
    runtime: Runtime, users: list[Any], way: str, submits: int, round_: int
) -> dict[str, float]:
    options = SubmitOptions(priority=Priority.NORMAL) if way == "explicit" else SubmitOptions()
    runtime.plan_cache = PlanCache(runtime.settings, ttl=0 if way == "uncached" else 3600)
    if way == "cached":  # warm: every user's plan read once, outside the measurement
        for user in users:
            await submit(
                runtime, options, user_id=user.id, kind="bench.noop", payload={"warm": way, "r": round_}
            )
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(submits):
        user = users[i % len(users)]
        await submit(
            runtime, options, user_id=user.id, kind="bench.noop", payload={"w": way, "r": round_, "i": i}
        )
    return {
        "cpu_ms_per_submit": 1000 * (time.process_time() - cpu) / submits,
        "wall_ms_per_submit": 1000 * (time.perf_counter() - wall) / submits,
    }


async def measure(infra: Infra, users_count: int, submits: int, rounds: int) -> dict[str, Any]:
    env = conjure_env(infra)
    # Every job straight onto the stream (no lanes: nothing consumes them here), and the stream
    # emptied before each round, so no way pays for a queue the one before it filled.
    unbounded = {"job_max_inflight_per_user": 10**8, "job_dispatch_window": 10**8}
    runtime = await Runtime.start(bench_settings(infra, env, **unbounded), apps=[APP])
    try:
        users = await bench_users(runtime, users_count)
        samples: dict[str, list[dict[str, float]]] = {way: [] for way in WAYS}
        for round_ in range(rounds):
            for way in WAYS[round_ % 3 :] + WAYS[: round_ % 3]:  # each way in each position
                assert runtime.redis is not None
                await runtime.redis.xtrim(keys.STREAM, maxlen=0)
                result = await one_round(runtime, users, way, submits, round_)
                samples[way].append(result)
                print(json.dumps({way: result, "round": round_}), flush=True)
    finally:
        await runtime.close()
    return {
        way: {key: round(statistics.median(s[key] for s in got), 3) for key in got[0]}
        for way, got in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--submits", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    with infrastructure("plan_class") as infra:  # it starts its servers outside any event loop
        result = asyncio.run(measure(infra, args.users, args.submits, args.rounds))
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "plan_class.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
