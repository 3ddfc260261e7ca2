"""Worker entry points (placeholder until the job engine lands)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

from conjure.runtime import Runtime
from conjure.settings import Settings

Stop = Callable[[], Awaitable[None]]


async def start_embedded(runtime: Runtime) -> Stop:
    """Run worker + scheduler as tasks in this process (``conjure up``); returns a stopper."""

    async def stop() -> None:
        return None

    return stop


async def run_worker(settings: Settings) -> None:
    """``conjure worker``: run until SIGTERM/SIGINT."""
    runtime = await Runtime.start(settings)
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_event.set)
    stop = await start_embedded(runtime)
    await stop_event.wait()
    await stop()
    await runtime.close()
