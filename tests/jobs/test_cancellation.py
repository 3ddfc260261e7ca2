"""The engine's loops end when cancelled, even when redis-py swallows the cancellation.

redis-py (8.1, Python 3.11) can lose a cancellation that lands while a command starts; a loop
that went on would hang whoever waits for it (a worker's stop, a test's teardown).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from conjure.jobs.scheduler import Scheduler
from conjure.jobs.worker import Worker
from conjure.runtime import Runtime
from tests.jobs.conftest import MakeRuntime

DELAYS = (0.0, 0.001, 0.003, 0.005, 0.01, 0.02, 0.05) * 3


async def ends_when_cancelled(loop: Callable[[], Coroutine[Any, Any, None]]) -> list[float]:
    """The delays after which a cancelled run of ``loop`` was still running 3 s later."""
    stuck: list[float] = []
    for delay in DELAYS:
        task = asyncio.create_task(loop())
        await asyncio.sleep(delay)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=3)
        if not done:
            stuck.append(delay)
        assert task.cancelled() or task.done()
    return stuck


async def test_scheduler_loop_ends_when_cancelled(pg_redis: Runtime) -> None:
    scheduler = Scheduler(pg_redis)
    try:
        assert await ends_when_cancelled(scheduler._loop) == []
    finally:
        await scheduler.stop()  # ends any loop left running, so the test itself never hangs


async def test_worker_loops_end_when_cancelled(
    make_runtime: MakeRuntime, pg_url: str, redis_url: str
) -> None:
    runtime = await make_runtime(database_url=pg_url, redis_url=redis_url, heartbeat_seconds=0.0)
    worker = Worker(runtime)
    try:
        assert await ends_when_cancelled(worker._heartbeat_loop) == []
        assert await ends_when_cancelled(worker._fetch_loop) == []
    finally:
        worker._stopping.set()  # ends a fetch loop left running
