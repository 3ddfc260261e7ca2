"""A capacity model from measured costs per job: what limits throughput as processes are added.

    python bench/scale_model.py [--results bench/results/jobs-round3.json] [--rate 5000]
                                [--polls-per-job 3] [--api-submit-ms 1.5] [--api-poll-ms 1.0]

Each job costs CPU in the worker process, in PostgreSQL (its three statements: submit, claim,
settle, plus polls) and in Redis (dispatch, fetch, acknowledge, events: one thread). The model
takes those costs as ``jobs_bench.py`` measured them (CPU ms per job over a drain, not wall time,
so they hold on a quiet box too) and answers two questions (docs/scale.md):

1. on one box with ``--cores`` cores, how many jobs/s 1, 2, 4, 8 worker processes can reach, and
   which resource saturates first;
2. for a spike of ``--rate`` jobs/s (with ``--polls-per-job`` status polls each), how many cores
   each tier needs and where a single instance stops being enough (Redis's one thread, one
   PostgreSQL primary's cores, connection counts).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Costs:
    """CPU milliseconds per job (and per API request)."""

    worker: float
    postgres: float
    redis: float
    api_submit: float
    api_poll: float
    postgres_poll: float = 0.05  # one indexed row read per poll

    @classmethod
    def measured(cls, path: Path, api_submit: float, api_poll: float) -> Costs:
        data = json.loads(path.read_text())
        drain = data["pg_redis"]["noop_workers_1"]
        return cls(
            worker=drain["worker_cpu_ms_per_job"],
            postgres=drain["postgres_cpu_ms_per_job"],
            redis=max(drain["redis_cpu_ms_per_job"], 0.005),
            api_submit=api_submit,
            api_poll=api_poll,
        )


def one_box(costs: Costs, cores: float, workers: int) -> tuple[float, str]:
    """Jobs/s a box of ``cores`` reaches with ``workers`` worker processes, and its bottleneck.
    Submits are assumed to come from elsewhere (the drain case: the worker side only)."""
    per_job = costs.worker + costs.postgres + costs.redis  # CPU ms, all tiers on one box
    limits = {
        "box CPU": cores * 1000 / per_job,
        "worker processes (one core each)": workers * 1000 / costs.worker,
        "Redis (one thread)": 1000 / costs.redis,
    }
    name = min(limits, key=lambda k: limits[k])
    return limits[name], name


def spike(costs: Costs, rate: float, polls: float) -> dict[str, float]:
    """Cores per tier for ``rate`` jobs/s with ``polls`` polls per job."""
    return {
        "api_cores": rate * (costs.api_submit + polls * costs.api_poll) / 1000,
        "worker_cores": rate * costs.worker / 1000,
        "postgres_cores": rate * (costs.postgres + polls * costs.postgres_poll) / 1000,
        "redis_threads": rate * costs.redis / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, default=RESULTS / "jobs-round3.json")
    parser.add_argument("--cores", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=5000.0, help="the spike, jobs/s")
    parser.add_argument("--polls-per-job", type=float, default=3.0)
    parser.add_argument("--api-submit-ms", type=float, default=1.5, help="API CPU per submit")
    parser.add_argument("--api-poll-ms", type=float, default=1.0, help="API CPU per poll")
    args = parser.parse_args()
    costs = Costs.measured(args.results, args.api_submit_ms, args.api_poll_ms)
    print(f"costs per job (CPU ms): {costs}")
    for workers in (1, 2, 4, 8):
        rate, limit = one_box(costs, args.cores, workers)
        print(f"{args.cores:g} cores, {workers} worker processes: ≤ {rate:,.0f} jobs/s ({limit})")
    need = spike(costs, args.rate, args.polls_per_job)
    print(f"spike of {args.rate:,.0f} jobs/s, {args.polls_per_job:g} polls each:")
    for name, value in need.items():
        print(f"  {name}: {value:.1f} (instances of 8 cores: {math.ceil(value / 8)})")


if __name__ == "__main__":
    main()
