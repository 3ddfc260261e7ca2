"""Job-engine scenarios on PostgreSQL + Redis: route-path latency and the flood (fairness) run.

Both submit as the API does (``submit_job_now``: one statement, then the dispatch) and learn of
outcomes as an SSE gateway would: one pattern subscription on the job event channels, shared
by every job, so nothing is subscribed per job and no event can be missed.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from typing import Any

import redis.asyncio as aioredis

from conjure.jobs.service import submit_job_now
from conjure.runtime import Runtime


class Outcomes:
    """``succeeded`` events of every job, by job id, with the time they arrived."""

    def __init__(self, redis_url: str) -> None:
        self.redis = aioredis.from_url(redis_url)
        self.arrived: dict[str, float] = {}
        self._waiters: dict[str, asyncio.Future[float]] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Outcomes:
        self._pubsub = self.redis.pubsub()
        await self._pubsub.psubscribe("jobs:events:*")
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self.redis.aclose()

    async def _pump(self) -> None:
        while True:
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or message.get("type") != "pmessage":
                continue
            at = time.perf_counter()
            event = json.loads(message["data"])
            if event.get("type") != "succeeded":
                continue
            job_id = event["job_id"]
            self.arrived[job_id] = at
            waiter = self._waiters.pop(job_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(at)

    async def wait(self, job_id: uuid.UUID, timeout: float = 30.0) -> float:
        key = str(job_id)
        if key in self.arrived:
            return self.arrived[key]
        waiter = asyncio.get_running_loop().create_future()
        self._waiters[key] = waiter
        return await asyncio.wait_for(waiter, timeout)


def summary(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "samples": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(times[max(int(len(times) * 0.99) - 1, 0)], 2),
        "max_ms": round(times[-1], 2),
    }


async def route_latency(
    runtime: Runtime, redis_url: str, user_id: uuid.UUID, samples: int
) -> dict[str, float]:
    """One job at a time, submitted as the API does, until its ``succeeded`` event arrives."""
    times = []
    async with Outcomes(redis_url) as outcomes:
        for i in range(samples):
            started = time.perf_counter()
            job = await submit_job_now(runtime, user_id=user_id, kind="bench.noop", payload={"lat": i})
            times.append((await outcomes.wait(job.id) - started) * 1000)
    return summary(times)


async def flood(
    runtime: Runtime,
    redis_url: str,
    flooder: uuid.UUID,
    light: list[uuid.UUID],
    start_worker: Any,
    *,
    jobs: int,
    seconds: float,
) -> dict[str, Any]:
    """``jobs`` queued by one user, then each light user submits one job per second while a worker
    drains: the light users' submit → succeeded wait, and when the flood finished."""

    async def submit_flood(start: int) -> None:
        for i in range(start, min(start + 250, jobs)):
            await submit_job_now(runtime, user_id=flooder, kind="bench.noop", payload={"flood": i})

    await asyncio.gather(*(submit_flood(s) for s in range(0, jobs, 250)))
    waits: list[float] = []
    async with Outcomes(redis_url) as outcomes:
        worker = start_worker()
        try:
            while not await runtime.broker.workers():
                await asyncio.sleep(0.01)
            began = time.perf_counter()

            async def one(user_id: uuid.UUID, at: float) -> None:
                await asyncio.sleep(max(at - (time.perf_counter() - began), 0))
                sent = time.perf_counter()
                job = await submit_job_now(runtime, user_id=user_id, kind="bench.noop", payload={"t": at})
                waits.append((await outcomes.wait(job.id, timeout=300) - sent) * 1000)

            # Each light user once a second, the users spread evenly over the second.
            plan = [
                (user, second + index / len(light))
                for second in range(int(seconds))
                for index, user in enumerate(light)
            ]
            await asyncio.gather(*(one(user, at) for user, at in plan))
            light_done = time.perf_counter() - began
        finally:
            worker.terminate()
            worker.wait()
    return {"flood_jobs": jobs, "light_jobs": len(waits), "light_wait": summary(waits), "light_s": light_done}
