"""A lone job's steps, each timed alone: Conjure's call against the bare floor's (``floor.py``).

``jobs_bench.py --probe`` says where a lone job's time goes inside the running system; this says
how much of each step is the step itself. One process, one job at a time, on the run's own
PostgreSQL and Redis: for every job it times, one after the other, Conjure's submit statement and
fair dispatch, its fetch, its claim and settle statements (the SQL alone on a held connection, and
the claim through the job store as the worker calls it), its acknowledgement, and the floor's
INSERT, XADD, XREADGROUP, the two UPDATEs and the PUBLISH + XACK. Interleaved per job, so the
box's noise falls on both alike; the figures are medians in milliseconds.

    python bench/stages_bench.py [--samples 400] [--out stages.json]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
import redis.asyncio as aioredis

import jobs_bench
from conjure.jobs.models import JobStatus
from conjure.jobs.service import _validated_kind, dispatch_lane, new_job_values
from conjure.jobs.store.postgres import PostgresJobStore, driver_statements
from conjure.runtime import Runtime
from harness import RESULTS, Infra, conjure_env, infrastructure

FLOOR_STREAM, FLOOR_GROUP = "stage-floor:jobs", "stage-floor"
# (Conjure's step, the floor's step) in a lone job's order.
PAIRS = (
    ("insert", "f_insert"),
    ("dispatch", "f_xadd"),
    ("fetch", "f_fetch"),
    ("claim_sql", "f_claim"),
    ("settle_sql", "f_settle"),
    ("ack", "f_ack"),
)


class Timer:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    async def __call__(self, name: str, step: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        result = await step
        self.times.setdefault(name, []).append(time.perf_counter() - started)
        return result

    def medians(self) -> dict[str, float]:
        return {name: round(statistics.median(values) * 1000, 3) for name, values in self.times.items()}


def settle_params(job_id: uuid.UUID, now: dt.datetime) -> dict[str, Any]:
    """A no-op job's success, as ``Settler`` writes it."""
    data = json.dumps({"status": "succeeded", "result": {}})
    return {
        "ids": [job_id], "attempts": [1], "statuses": ["succeeded"], "results": ["{}"],
        "usages": [None], "codes": [None], "messages": [None], "run_ats": [None],
        "event_types": ["succeeded"], "event_data": [data], "successes": [True], "times_ms": [0],
        "attempt_usages": [None], "now": now, "worker": "stage-worker",
    }  # fmt: skip


async def conjure_job(
    runtime: Runtime, conn: asyncpg.Connection, user_id: uuid.UUID, i: int, t: Timer
) -> None:
    """One no-op job through Conjure's calls: submit, dispatch, fetch, claim, settle, ack."""
    store = PostgresJobStore(runtime.db)
    claim, settle, _ = driver_statements()
    kind = _validated_kind(runtime, "bench.noop", None)
    values = new_job_values(
        runtime, kind, user_id=user_id, payload={"i": i}, idempotency_key=None, webhook_url=None,
        start_deadline=None, trace_id=None, prompt_version=None, priority=1, lane=None,
    )  # fmt: skip
    job_id = values["id"]
    await t("insert", store.insert_queued(values))
    await t("dispatch", runtime.broker.dispatch([job_id], [dispatch_lane(user_id, None, 1)]))
    [delivery] = await t("fetch", runtime.broker.fetch("stage-worker", 10, 1))
    now = dt.datetime.now(dt.UTC)
    lease = now + dt.timedelta(minutes=5)
    if i % 2:  # the SQL alone, and through the store (its driver connection lender) in turns
        params = {"c_ids": [job_id], "c_now": now, "c_lease": lease, "c_worker": "stage-worker"}
        rows = await t("claim_sql", conn.fetch(claim.sql, *claim.args(params)))
    else:
        rows = await t("claim_store", store.claim([job_id], worker_id="stage-worker", now=now, lease=lease))
    assert len(rows) == 1, "the job was not claimed"
    written = await t("settle_sql", conn.fetch(settle.sql, *settle.args(settle_params(job_id, now))))
    assert len(written) == 1, "the job was not settled"
    event = {"type": JobStatus.SUCCEEDED.value, "status": "succeeded", "result": {}}
    await t("ack", runtime.broker.ack([delivery.ref], [(job_id, event)]))


async def floor_job(conn: asyncpg.Connection, redis: aioredis.Redis, t: Timer) -> None:
    """The same job as ``floor.py --claim`` does it."""
    job_id = uuid.uuid4()
    await t("f_insert", conn.execute("INSERT INTO stage_floor (id, status) VALUES ($1, 'queued')", job_id))
    await t("f_xadd", redis.xadd(FLOOR_STREAM, {"id": str(job_id)}))
    reply = await t("f_fetch", redis.xreadgroup(FLOOR_GROUP, "w", {FLOOR_STREAM: ">"}, count=10))
    ref = reply[0][1][0][0]
    claimed = "UPDATE stage_floor SET status = 'processing' WHERE id = $1 AND status = 'queued'"
    await t("f_claim", conn.execute(claimed, job_id))
    await t("f_settle", conn.execute("UPDATE stage_floor SET status = 'succeeded' WHERE id = $1", job_id))

    async def ack() -> None:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.publish("stage-floor:done", str(job_id))
            pipe.xack(FLOOR_STREAM, FLOOR_GROUP, ref)
            await pipe.execute()

    await t("f_ack", ack())


async def measure(infra: Infra, samples: int) -> dict[str, Any]:
    env = conjure_env(infra)
    runtime = await Runtime.start(jobs_bench.bench_settings(infra, env), apps=[jobs_bench.APP])
    conn = await asyncpg.connect(infra.database_url.replace("+asyncpg", ""))
    redis = aioredis.from_url(infra.redis_url)
    try:
        [user] = await jobs_bench.bench_users(runtime, 1)
        await conn.execute("CREATE TABLE stage_floor (id uuid PRIMARY KEY, status text NOT NULL)")
        await redis.xgroup_create(FLOOR_STREAM, FLOOR_GROUP, id="0", mkstream=True)
        await runtime.broker.ensure_group()  # type: ignore[attr-defined]
        t = Timer()
        turns: tuple[Callable[[], Awaitable[None]], ...] = (
            lambda: conjure_job(runtime, conn, user.id, i, t),
            lambda: floor_job(conn, redis, t),
        )
        for i in range(samples):
            for turn in turns if i % 2 else reversed(turns):
                await turn()
    finally:
        await redis.aclose()
        await conn.close()
        await runtime.close()
    medians = t.medians()
    conjure = sum(medians[mine] for mine, _ in PAIRS)
    floor = sum(medians[theirs] for _, theirs in PAIRS)
    return {
        "samples": samples,
        "steps_ms": medians,
        "extra_ms": {mine: round(medians[mine] - medians[theirs], 3) for mine, theirs in PAIRS},
        "sum_ms": {"conjure": round(conjure, 3), "floor": round(floor, 3)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--out", default="stages.json", help="file name under bench/results")
    args = parser.parse_args()
    with infrastructure("stages") as infra:
        result = asyncio.run(measure(infra, args.samples))
    print(json.dumps(result, indent=1))
    (RESULTS / args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
