"""Timestamps along one job's path, submit → ``succeeded`` (``jobs_bench.py --probe``).

The bench process stamps the submit statement, the dispatch and the arrival of the final event;
the worker process (``BENCH_PROBE`` set) stamps the fetch, the claim, the handler, the settle
statement and the acknowledgement, by wrapping those calls on the classes it runs. Both read
``time.perf_counter`` (CLOCK_MONOTONIC: one clock for every process on the machine), so each
stage's share of the latency is a difference of two stamps.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

STAMPS: dict[str, dict[str, float]] = {}


def stamp(job_id: uuid.UUID | str, stage: str) -> None:
    STAMPS.setdefault(str(job_id), {}).setdefault(stage, time.perf_counter())


def _wrap(
    owner: Any, name: str, before: Callable[..., None] | None, after: Callable[..., None] | None
) -> None:
    original = getattr(owner, name)

    async def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        if before is not None:
            before(*args, **kwargs)
        result = await original(self, *args, **kwargs)
        if after is not None:
            after(result, *args, **kwargs)
        return result

    setattr(owner, name, wrapped)


def _fetched(result: Any, *args: Any, **kwargs: Any) -> None:
    for delivery in result:
        stamp(delivery.job_id, "fetched")


def _claimed(result: Any, *args: Any, **kwargs: Any) -> None:
    for row in result:
        stamp(row.id, "claimed")


def _settle_sent(batch: Any, **kwargs: Any) -> None:
    for settlement in batch:
        stamp(settlement.claim.job_id, "settle_sent")


def _settled(result: Any, batch: Any, **kwargs: Any) -> None:
    for settlement in batch:
        stamp(settlement.claim.job_id, "settled")


def _final(events: Any) -> list[str]:
    return [str(job_id) for job_id, event in events if event.get("type") == "succeeded"]


def install_worker_probe() -> None:
    """Stamp the worker's stages (fetched, claimed, settle sent/written, ack sent/done)."""
    from conjure.jobs.store.postgres import PostgresJobStore
    from conjure.jobs.streams import RedisStreamsBroker

    _wrap(RedisStreamsBroker, "fetch", None, _fetched)
    _wrap(PostgresJobStore, "claim", None, _claimed)
    _wrap(PostgresJobStore, "settle", _settle_sent, _settled)
    _wrap(
        RedisStreamsBroker,
        "ack",
        lambda refs, events=(), riders=(): [stamp(job_id, "ack_sent") for job_id in _final(events)],
        lambda result, refs, events=(), riders=(): [stamp(job_id, "acked") for job_id in _final(events)],
    )


def install_bench_probe() -> None:
    """Stamp the bench's side: the submit statement and the dispatch."""
    from conjure.jobs.store.postgres import PostgresJobStore
    from conjure.jobs.streams import RedisStreamsBroker

    _wrap(PostgresJobStore, "insert_queued", None, lambda result, values: stamp(values["id"], "inserted"))
    _wrap(
        RedisStreamsBroker,
        "dispatch",
        None,
        lambda result, job_ids, lanes=None: [stamp(job_id, "dispatched") for job_id in job_ids],
    )


def dump_worker_stamps() -> None:
    path = os.environ.get("BENCH_PROBE")
    if path:
        Path(path).write_text(json.dumps(STAMPS))


STAGES = ("submitted", "inserted", "dispatched", "fetched", "claimed", "handled", "settle_sent",
          "settled", "ack_sent", "acked", "seen")  # fmt: skip


def breakdown(bench: dict[str, dict[str, float]], worker: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Median and p90 milliseconds between consecutive stages, over the jobs that have them all."""
    gaps: dict[str, list[float]] = {}
    totals: list[float] = []
    for job_id, marks in bench.items():
        marks = {**marks, **worker.get(job_id, {})}
        present = [stage for stage in STAGES if stage in marks]
        if "seen" not in marks:
            continue
        totals.append((marks["seen"] - marks["submitted"]) * 1000)
        for first, then in itertools.pairwise(present):
            gaps.setdefault(f"{first} -> {then}", []).append((marks[then] - marks[first]) * 1000)
    out: dict[str, Any] = {"jobs": len(totals)}
    if totals:
        out["total_p50_ms"] = round(statistics.median(totals), 3)
    for name, values in gaps.items():
        values.sort()
        out[name] = {
            "p50_ms": round(statistics.median(values), 3),
            "p90_ms": round(values[int(len(values) * 0.9) - 1], 3),
        }
    return out
