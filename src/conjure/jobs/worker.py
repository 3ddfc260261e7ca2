"""The worker: fetch job ids in batches, claim them, run up to ``WORKER_CONCURRENCY`` at once.

``WORKER_CONCURRENCY`` bounds the handlers running at once (what operators set against their
providers' limits), not the batch size: the worker claims ahead of its handlers what they will
finish while the next batch is being fetched and claimed (:class:`Pace`, Little's law), so a
backlog of fast jobs is drained in large batches (few round trips per job) while slow jobs are
not hoarded, and a handler's slot is free again as soon as it returns, not once its settle
commits.

Graceful shutdown (SIGTERM): stop fetching, let in-flight jobs finish within
``SHUTDOWN_GRACE_SECONDS``, then cancel the rest; their entries stay pending and
their leases expire, so another worker reclaims them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import os
import secrets
import signal
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import structlog
from redis.exceptions import RedisError
from sqlalchemy.orm import configure_mappers

from conjure.announcements import PLANS_CHANGED, listen
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
PREFETCH_MAX = 200  # jobs claimed ahead of the handlers, at most
# A handler's duration as the pace sees it, at least: the worker's own cost per job (task,
# context, settle) bounds the rate however fast a no-op handler is.
MIN_SERVICE_SECONDS = 0.0005
SMOOTHING = 0.2  # weight of the newest sample in the moving averages


class Pace:
    """How many jobs to claim ahead of the handlers: the ones they finish during one refill.

    Little's law: with ``concurrency`` handlers taking ``service`` seconds each, a refill (fetch
    + claim) of ``refill`` seconds is covered by ``concurrency * refill / service`` jobs. Fast
    jobs under a backlog get large batches; a 30 s job gets none ahead (no hoarding: other
    workers take them). Both durations are moving averages of what this worker measured.
    """

    def __init__(self, concurrency: int, most: int = PREFETCH_MAX) -> None:
        self.concurrency = concurrency
        self.most = most
        self.refill = 0.002
        self.service: float | None = None

    def refilled(self, seconds: float) -> None:
        self.refill += SMOOTHING * (seconds - self.refill)

    def handled(self, seconds: float) -> None:
        seconds = max(seconds, MIN_SERVICE_SECONDS)
        last = seconds if self.service is None else self.service
        self.service = last + SMOOTHING * (seconds - last)

    @property
    def ahead(self) -> int:
        """Jobs to hold claimed beyond the running handlers."""
        if self.service is None:
            return 0
        return min(self.most, math.ceil(self.concurrency * 2 * self.refill / self.service))

    @property
    def batch(self) -> int:
        """The least room worth a fetch: half of what is claimed ahead, or one job."""
        return max(1, self.ahead // 2)


class Slots:
    """The worker's bound on handlers running at once: a semaphore whose acquire is O(1).

    ``asyncio.Semaphore.acquire`` scans its waiters on every call (Python 3.11), and a worker
    holds up to ``PREFETCH_MAX`` claimed jobs waiting for a slot: that scan was 12 % of a no-op
    drain's worker CPU. A freed slot goes straight to the longest waiter (FIFO)."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot just as it was cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Worker:
    """One consumer: a fetch loop, a reclaim loop and a heartbeat loop over a set of running jobs."""

    def __init__(self, runtime: Runtime, *, worker_id: str | None = None, concurrency: int | None = None):
        self.runtime = runtime
        self.id = worker_id or new_worker_id()
        self.concurrency = concurrency or runtime.settings.worker_concurrency
        self.runner = Runner(runtime, self.id)
        self.pace = Pace(self.concurrency)
        self._slots = Slots(self.concurrency)  # handlers running at once
        self._running: dict[str, Claim] = {}  # claimed and not settled yet (heartbeated)
        self._unhandled: set[str] = set()  # claimed, handler not finished (waiting or running)
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
        # Wake the fetch loop, never cancel it: it may be in its claim's transaction, and a cancel
        # landing there (or in the connection's rollback) can leave a SQLite connection holding
        # the database's write lock, so every later write waits for it in vain.
        self.runtime.broker.interrupt()
        await asyncio.gather(fetch, return_exceptions=True)
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.runner.drain()
        # The heartbeat and reclaim loops end at their next wait (``_stopped_within``); one stuck in
        # a step (a database that does not answer) is cancelled after the grace.
        if others:
            _ended, stuck = await asyncio.wait(others, timeout=max(grace, 1.0))
            for task in stuck:
                task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        try:
            await self.runtime.broker.retire(self.id)
        except Exception as exc:
            log.warning("worker_retire_failed", error_type=type(exc).__name__)
        log.info("worker_stopped", worker_id=self.id)

    @property
    def free_slots(self) -> int:
        """Jobs this worker may claim now: its handlers plus what it claims ahead, less the jobs
        whose handlers have not finished; and no more than twice that unsettled in all, so the
        next batch is fetched and claimed while the last one's settle is being written."""
        window = self.concurrency + self.pace.ahead
        return min(window - len(self._unhandled), 2 * window - len(self._tasks))

    async def _fetch_loop(self) -> None:
        broker = self.runtime.broker
        while not self._stopping.is_set():
            if self.free_slots < min(self.pace.batch, self.concurrency + self.pace.ahead):
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            try:
                deliveries = await broker.fetch(self.id, self.free_slots, FETCH_BLOCK_MS)
                if deliveries:
                    started = time.monotonic()
                    await self._take(deliveries)
                    # The claim's round trip, twice: the fetch before it costs about as much.
                    self.pace.refilled(2 * (time.monotonic() - started))
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
            self._unhandled.add(claim.delivery.ref)
            task = asyncio.create_task(self._run(claim))  # waits for a handler slot
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slot_freed.set()

    def _handled(self, ref: str, seconds: float) -> None:
        """A handler returned: its job no longer counts against what is claimed ahead."""
        self.pace.handled(seconds)
        self._unhandled.discard(ref)
        self._slot_freed.set()

    async def _run(self, claim: Claim) -> None:
        JOBS_IN_FLIGHT.inc()
        try:
            # Takes a handler slot, then settles and acknowledges (batched with other jobs).
            ref = claim.delivery.ref
            await self.runner.run(claim, self._slots, lambda seconds: self._handled(ref, seconds))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job_settle_failed", job_id=str(claim.job_id))
        finally:
            JOBS_IN_FLIGHT.dec()
            self._running.pop(claim.delivery.ref, None)
            self._unhandled.discard(claim.delivery.ref)

    async def _reclaim_loop(self) -> None:
        settings = self.runtime.settings
        idle_ms = settings.visibility_timeout_seconds * 1000
        every = max(settings.visibility_timeout_seconds / 4, 0.25)
        while not await self._stopped_within(every):
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
        while not await self._stopped_within(self.runtime.settings.heartbeat_seconds):
            try:
                await self.runtime.broker.announce(self.id)
                await self.runner.heartbeat(list(self._running.values()))
            except Exception as exc:
                log.warning("worker_heartbeat_failed", error_type=type(exc).__name__)
            stop_if_cancelled()

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait ``seconds``, or less once the worker is stopping; whether it is. The periodic loops
        end between their steps this way: a cancel landing in a step's transaction could leave a
        SQLite connection open (and its write lock held) as the loop's task ends."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return self._stopping.is_set()


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


def serve(main: Coroutine[Any, Any, None]) -> None:
    """Run the worker process's event loop: uvloop where installed (it comes with
    ``uvicorn[standard]``, which the API already runs on), else asyncio's own. Its C loop takes
    about a fifth off a no-op job's worker CPU (socket writes, callbacks, timers)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop (Windows)
        asyncio.run(main)
        return
    uvloop.run(main)


def settle_heap() -> None:
    """Once start-up is done: move what it allocated (modules, mappers, the apps' kinds) out of
    the collector's reach. Full collections otherwise re-scan it all while jobs allocate, which
    showed as a quarter of a no-op drain's worker CPU; the API does the same (``app.py``).
    The ORM's mappers are configured first: otherwise the first query of a scheduler step does
    it in the middle of the work, and what it builds would stay in the collector's reach."""
    configure_mappers()
    gc.collect()
    gc.freeze()


async def run_worker(settings: Settings, *, apps: list[AppSpec] | None = None) -> None:
    """``conjure worker``: run a worker and the scheduler until SIGTERM/SIGINT."""
    start_observability(settings, role="worker")
    runtime = await Runtime.start(settings, apps=apps)
    instrument_engine(runtime.db.engine)
    settle_heap()
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port)
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_event.set)
    stop = await start_embedded(runtime)
    # Jobs submit jobs too (at the class of their user's plan): forget announced plan changes.
    listener = (
        asyncio.create_task(listen(runtime.redis, {PLANS_CHANGED: runtime.plan_cache}))
        if runtime.redis is not None and runtime.plan_cache is not None
        else None
    )
    try:
        await stop_event.wait()
    finally:
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        await stop()
        await runtime.close()
