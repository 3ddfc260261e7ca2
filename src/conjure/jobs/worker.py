"""The worker: fetch job ids in batches, claim them, run up to ``WORKER_CONCURRENCY`` at once.

Graceful shutdown (SIGTERM): stop fetching, let in-flight jobs finish within
``SHUTDOWN_GRACE_SECONDS``, then cancel the rest; their entries stay pending and
their leases expire, so another worker reclaims them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
from collections.abc import Awaitable, Callable, Sequence

import structlog
from redis.exceptions import RedisError

from conjure.jobs.attempt import Claim
from conjure.jobs.runner import Runner
from conjure.jobs.scheduler import Scheduler
from conjure.jobs.types import Delivery, stop_if_cancelled
from conjure.kit.spec import AppSpec
from conjure.observability.metrics import JOBS_IN_FLIGHT
from conjure.observability.setup import start_observability
from conjure.observability.tracing import instrument_engine
from conjure.runtime import Runtime
from conjure.settings import Settings

log = structlog.get_logger("conjure.jobs.worker")
Stop = Callable[[], Awaitable[None]]
FETCH_BLOCK_MS = 500


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Worker:
    """One consumer: a fetch loop, a reclaim loop and a heartbeat loop over a set of running jobs."""

    def __init__(self, runtime: Runtime, *, worker_id: str | None = None, concurrency: int | None = None):
        self.runtime = runtime
        self.id = worker_id or new_worker_id()
        self.concurrency = concurrency or runtime.settings.worker_concurrency
        self.runner = Runner(runtime, self.id)
        self._running: dict[str, Claim] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._slot_freed = asyncio.Event()

    async def start(self) -> None:
        try:
            await self.runtime.broker.announce(self.id)
        except Exception as exc:
            # Redis may be briefly away; the heartbeat loop announces again.
            log.warning("worker_announce_failed", error_type=type(exc).__name__)
        self._loops = [
            asyncio.create_task(self._fetch_loop(), name=f"fetch-{self.id}"),
            asyncio.create_task(self._reclaim_loop(), name=f"reclaim-{self.id}"),
            asyncio.create_task(self._heartbeat_loop(), name=f"heartbeat-{self.id}"),
        ]
        log.info("worker_started", worker_id=self.id, concurrency=self.concurrency)

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking work, give in-flight jobs ``grace`` seconds, cancel the rest (left reclaimable)."""
        grace = self.runtime.settings.shutdown_grace_seconds if grace is None else grace
        self._stopping.set()
        self._slot_freed.set()
        fetch, *others = self._loops
        if not self.runtime.broker.durable:
            fetch.cancel()  # an in-memory wait loses nothing when cancelled
        await asyncio.gather(fetch, return_exceptions=True)
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.runner.drain()
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        try:
            await self.runtime.broker.retire(self.id)
        except Exception as exc:
            log.warning("worker_retire_failed", error_type=type(exc).__name__)
        log.info("worker_stopped", worker_id=self.id)

    @property
    def free_slots(self) -> int:
        return self.concurrency - len(self._tasks)

    async def _fetch_loop(self) -> None:
        broker = self.runtime.broker
        while not self._stopping.is_set():
            if self.free_slots <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            try:
                deliveries = await broker.fetch(self.id, self.free_slots, FETCH_BLOCK_MS)
                if deliveries:
                    await self._take(deliveries)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("worker_fetch_failed", error_type=type(exc).__name__)
                await asyncio.sleep(0.5)
            except Exception:
                log.exception("worker_fetch_crashed")
                await asyncio.sleep(0.5)
            stop_if_cancelled()  # redis-py may have swallowed our cancellation

    async def _take(self, deliveries: Sequence[Delivery]) -> None:
        # Claim failures leave the entries pending: they are reclaimed after the visibility timeout.
        claims, skipped = await self.runner.claim(deliveries)
        if skipped:
            await self.runtime.broker.ack(skipped)
        for claim in claims:
            self._running[claim.delivery.ref] = claim
            task = asyncio.create_task(self._run(claim))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slot_freed.set()

    async def _run(self, claim: Claim) -> None:
        JOBS_IN_FLIGHT.inc()
        try:
            await self.runner.run(claim)  # settles and acknowledges, batched with other jobs
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job_settle_failed", job_id=str(claim.job_id))
        finally:
            JOBS_IN_FLIGHT.dec()
            self._running.pop(claim.delivery.ref, None)

    async def _reclaim_loop(self) -> None:
        settings = self.runtime.settings
        idle_ms = settings.visibility_timeout_seconds * 1000
        every = max(settings.visibility_timeout_seconds / 4, 0.25)
        while not self._stopping.is_set():
            await asyncio.sleep(every)
            if self.free_slots <= 0:
                continue
            try:
                deliveries = await self.runtime.broker.reclaim(self.id, idle_ms, self.free_slots)
                if deliveries:
                    log.info("entries_reclaimed", count=len(deliveries), worker_id=self.id)
                    await self._take(deliveries)
            except Exception as exc:
                log.warning("worker_reclaim_failed", error_type=type(exc).__name__)
            stop_if_cancelled()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.runtime.settings.heartbeat_seconds)
            try:
                await self.runtime.broker.announce(self.id)
                await self.runner.heartbeat(list(self._running.values()))
            except Exception as exc:
                log.warning("worker_heartbeat_failed", error_type=type(exc).__name__)
            stop_if_cancelled()  # stop() cancels this loop and waits for it


async def start_embedded(runtime: Runtime) -> Stop:
    """Run a worker and the scheduler as tasks in this process (``conjure up``); returns a stopper."""
    worker = Worker(runtime)
    scheduler = Scheduler(runtime)
    await worker.start()
    await scheduler.start()

    async def stop() -> None:
        await worker.stop()
        await scheduler.stop()

    return stop


async def run_worker(settings: Settings, *, apps: list[AppSpec] | None = None) -> None:
    """``conjure worker``: run a worker and the scheduler until SIGTERM/SIGINT."""
    start_observability(settings, role="worker")
    runtime = await Runtime.start(settings, apps=apps)
    instrument_engine(runtime.db.engine)
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port)
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_event.set)
    stop = await start_embedded(runtime)
    try:
        await stop_event.wait()
    finally:
        await stop()
        await runtime.close()
