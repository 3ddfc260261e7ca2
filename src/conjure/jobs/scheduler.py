"""The housekeeping loops every worker process runs next to its worker.

- move due retries from the delayed set back to the queue, and promote jobs waiting in lanes
  (every ``job_scheduler_poll_seconds`` while jobs wait in lanes or retries are due; an idle
  scheduler sleeps until the earliest delayed retry or its next step, at most a second, and a
  retry this process schedules wakes it: an idle worker costs one broker call a second);
- reconcile: re-dispatch ``queued`` jobs nobody took within ``reconcile_after_seconds``
  (a crash between commit and dispatch, a Redis that lost its data) and ``processing``
  jobs whose lease ran out that long ago (a dead worker whose entry vanished), through their
  payers' lanes with their stored class (``conjure.jobs.redispatch``), taking each payer's
  oldest jobs in turn so one payer's lost backlog does not fill a pass;
- cancel queued (or waiting) jobs past their start deadline (reason ``deadline``, no charge);
- wake parked jobs: queue those whose poll time came, fail those past their callback deadline
  (``conjure.jobs.parking.wake_waiting``), so a job that is never resumed still ends; once a
  second, one statement compiled once (:func:`due_work`) asks whether either has anything to do;
- write off the wallet's credit grants that expired (``conjure.wallet.grants``);
- refresh the queue gauges in ``/metrics``;
- run the apps' periodic tasks (``AppSpec.periodic``, e.g. staging's cleanup of unused uploads).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import String, bindparam, cast, exists, func, literal, or_, select, update

from conjure.db import after_commit, utcnow
from conjure.jobs.models import JOBS, PAUSED_KINDS, Job, JobStatus
from conjure.jobs.parking import wake_waiting
from conjure.jobs.redispatch import LANE_COLUMNS, lanes_of_rows
from conjure.jobs.service import end_queued_job
from conjure.jobs.store.postgres import DriverStatement
from conjure.jobs.types import Tick, stop_if_cancelled
from conjure.observability.metrics import DLQ_SIZE, QUEUE_DEPTH
from conjure.wallet.grants import expire_due_grants

if TYPE_CHECKING:
    from conjure.db import Database
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.jobs.scheduler")
BATCH = 500
STATS_EVERY_SECONDS = 5.0
DEADLINES_EVERY_SECONDS = 1.0
GRANTS_EVERY_SECONDS = 30.0
BACKLOG_PATIENCE = 10
# The longest an idle scheduler sleeps; its once-a-second steps (deadlines) bound it anyway.
IDLE_PAUSE_SECONDS = DEADLINES_EVERY_SECONDS


class Scheduler:
    """Delayed-retry mover, reconciler, deadline sweeper and gauges, on one timer loop."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()  # a retry due before the planned wake-up, or stop()
        # Unix time the loop sleeps until; infinite while it is awake, so that a retry scheduled
        # after this pass's tick makes the next sleep end at once.
        self._wake_at = math.inf
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0  # broker ticks so far (the idle cost, for tests)

    async def start(self) -> None:
        self.runtime.broker.on_delayed = self._retry_scheduled
        self._task = asyncio.create_task(self._loop(), name="jobs-scheduler")

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
        if self.runtime.broker.on_delayed == self._retry_scheduled:
            self.runtime.broker.on_delayed = None

    def _retry_scheduled(self, due: float) -> None:
        """This process scheduled a retry: wake up for it if the loop would sleep past it."""
        if due < self._wake_at:
            self._wake.set()

    async def _tick(self) -> Tick | None:
        """The broker's tick (None when it failed: the next comes at the usual pace)."""
        self.ticks += 1
        try:
            return await self.runtime.broker.tick(limit=BATCH)
        except Exception as exc:
            log.warning("scheduler_step_failed", step="move_due", error_type=type(exc).__name__)
            return None
        finally:
            stop_if_cancelled()

    def _pause(self, tick: Tick | None, due: dict[str, float]) -> float:
        """Seconds to sleep: the usual poll while jobs wait in lanes or retries pile up; else
        until the earliest delayed retry or the next step, whichever comes first."""
        poll = self.runtime.settings.job_scheduler_poll_seconds
        if tick is None or tick.busy(BATCH):
            return poll
        pause = min(due.values()) - time.monotonic()
        if tick.next_due is not None:
            pause = min(pause, tick.next_due - time.time())
        return min(max(pause, 0.005), IDLE_PAUSE_SECONDS)

    async def _sleep(self, seconds: float) -> None:
        self._wake_at = time.time() + seconds
        if not self._wake.is_set():  # else a retry came while awake: tick again at once
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._wake.wait()
        self._wake.clear()
        self._wake_at = math.inf

    async def _loop(self) -> None:
        settings = self.runtime.settings
        reconcile_every = max(min(settings.reconcile_after_seconds / 2, 10.0), 0.2)
        # An in-process queue died with the last process: take every queued job back at once.
        first_bound = 0.0 if not self.runtime.broker.durable else None
        due = {"reconcile": 0.0, "deadlines": 0.0, "stats": 0.0, "grants": 0.0}
        while not self._stopping.is_set():
            now = time.monotonic()
            tick = await self._tick()
            if now >= due["reconcile"]:
                await self._guarded("reconcile", self.reconcile(bound_seconds=first_bound))
                first_bound = None
                due["reconcile"] = now + reconcile_every
            if now >= due["deadlines"]:
                await self._guarded("deadlines", self.sweep())
                due["deadlines"] = now + DEADLINES_EVERY_SECONDS
            if now >= due["grants"]:
                await self._guarded("grants", expire_due_grants(self.runtime.db))
                due["grants"] = now + GRANTS_EVERY_SECONDS
            if now >= due["stats"]:
                await self._guarded("stats", self.refresh_gauges())
                due["stats"] = now + STATS_EVERY_SECONDS
            for app in self.runtime.apps:
                for task in app.periodic:
                    if now >= due.get(task.name, 0.0):
                        await self._guarded(task.name, task.run(self.runtime))
                        due[task.name] = now + task.every(settings)
            if not self._stopping.is_set():
                await self._sleep(self._pause(tick, due))

    async def sweep(self) -> None:
        """Start deadlines and parked jobs, each only when :func:`due_work` says it has work."""
        deadlines, waiting = await due_work(self.runtime.db)
        if deadlines:
            await self._guarded("deadlines", self.expire_deadlines())
        if waiting:
            await self._guarded("wake_waiting", wake_waiting(self.runtime))

    async def _guarded(self, name: str, work: object) -> None:
        try:
            await work  # type: ignore[misc]
        except Exception as exc:
            # Redis or the database may be briefly away; the next tick tries again.
            log.warning("scheduler_step_failed", step=name, error_type=type(exc).__name__)
        stop_if_cancelled()  # a step may have swallowed our cancellation (redis-py can)

    async def reconcile(self, *, bound_seconds: float | None = None) -> int:
        """Re-dispatch jobs the queue seems to have lost; returns how many."""
        bound = self.runtime.settings.reconcile_after_seconds if bound_seconds is None else bound_seconds
        if self.runtime.broker.durable and (await self.runtime.broker.stats()).ready > 0:
            # Workers are behind, not the queue lossy: old queued jobs are most likely still
            # in the stream, so wait much longer before adding duplicates.
            bound *= BACKLOG_PATIENCE
        now = utcnow()
        cutoff = now - dt.timedelta(seconds=bound)
        async with self.runtime.db.session() as session:
            lost_queued = (
                select(JOBS.c.id)
                .where(JOBS.c.id.in_(fair_oldest(cutoff, BATCH)))
                # Rows a worker is claiming right now are not lost: skip them (and avoid deadlocks).
                .with_for_update(skip_locked=True)
            )
            # Bumping run_at/lease makes concurrent reconcilers skip what this one took.
            queued = await session.execute(
                update(JOBS).where(JOBS.c.id.in_(lost_queued)).values(run_at=now).returning(*LANE_COLUMNS)
            )
            rows = list(queued.all())
            stale_processing = (
                select(JOBS.c.id)
                .where(JOBS.c.status == JobStatus.PROCESSING, JOBS.c.lease_expires_at < cutoff)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            stale = await session.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(stale_processing))
                .values(lease_expires_at=now)
                .returning(*LANE_COLUMNS)
            )
            rows.extend(stale.all())
            # Through the lanes with each job's stored class, as when it was submitted.
            ids, lanes = lanes_of_rows(rows)
            if ids:
                broker = self.runtime.broker

                async def dispatch() -> None:
                    await broker.dispatch(ids, lanes)

                after_commit(session, dispatch)
        if ids:
            log.info("jobs_reconciled", count=len(ids))
        return len(ids)

    async def expire_deadlines(self) -> int:
        """Cancel queued or waiting jobs whose start deadline passed (reason ``deadline``)."""
        now = utcnow()
        ended = 0
        async with self.runtime.db.session() as session:
            jobs = (
                (
                    await session.execute(
                        select(Job)
                        .where(
                            Job.status.in_((JobStatus.QUEUED, JobStatus.WAITING)), Job.start_deadline < now
                        )
                        .limit(BATCH)
                    )
                )
                .scalars()
                .all()
            )
            for job in jobs:
                ended += await end_queued_job(
                    session,
                    self.runtime,
                    job,
                    status=JobStatus.CANCELED,
                    code="deadline",
                    message="The job did not start before its deadline.",
                )
        return ended

    async def refresh_gauges(self) -> None:
        """Queue depth from the broker, DLQ size from the table (the record)."""
        stats = await self.runtime.broker.stats()
        QUEUE_DEPTH.set(stats.ready + stats.delayed)
        async with self.runtime.db.session() as session:
            dlq = await session.scalar(select(func.count()).where(Job.status == JobStatus.DLQ))
        DLQ_SIZE.set(int(dlq or 0))


def fair_oldest(cutoff: dt.datetime, limit: int) -> Any:
    """Ids of up to ``limit`` queued jobs due before ``cutoff``, each payer's oldest first in turn:
    every payer's first job, then every payer's second, … (a round-robin over payers by age), so
    a pass over a flood's lost backlog still picks up a light payer's lost job."""
    payer = func.coalesce(JOBS.c.lane, cast(JOBS.c.user_id, String), literal(""))
    turns = (
        select(
            JOBS.c.id,
            JOBS.c.run_at,
            func.row_number().over(partition_by=payer, order_by=(JOBS.c.run_at, JOBS.c.id)).label("turn"),
        )
        .where(
            JOBS.c.status == JobStatus.QUEUED,
            JOBS.c.run_at <= cutoff,
            # A paused kind's jobs wait on purpose; resuming dispatches them (conjure.console).
            JOBS.c.kind.not_in(select(PAUSED_KINDS.c.kind)),
        )
        .subquery()
    )
    return select(turns.c.id).order_by(turns.c.turn, turns.c.run_at).limit(limit)


@lru_cache(maxsize=1)
def due_work_statement() -> Any:
    """Whether any queued or waiting job is past its start deadline, and whether any parked job
    is due to wake (its poll time) or to fail (its callback deadline), at ``:now``."""
    now = bindparam("now", type_=JOBS.c.run_at.type)
    waiting = JOBS.c.status == JobStatus.WAITING.value
    deadlines = exists().where(
        or_(JOBS.c.status == JobStatus.QUEUED.value, waiting), JOBS.c.start_deadline < now
    )
    wake = exists().where(waiting, or_(JOBS.c.run_at <= now, JOBS.c.wait_deadline <= now))
    return select(deadlines.label("deadlines"), wake.label("wake"))


@lru_cache(maxsize=1)
def _due_work_driver() -> DriverStatement:
    return DriverStatement(due_work_statement())


async def due_work(db: Database) -> tuple[bool, bool]:
    """(deadlines to expire, parked jobs to wake or fail) now: one statement, no transaction; on
    PostgreSQL compiled once for the driver (an idle scheduler asks every second)."""
    params = {"now": utcnow()}
    if db.is_sqlite:
        async with db.engine.connect() as conn:
            row = (await conn.execute(due_work_statement(), params)).one()
    else:
        row = (await _due_work_driver().fetch(db, params))[0]
    return bool(row[0]), bool(row[1])
