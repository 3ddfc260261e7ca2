"""Gauges worked out when Prometheus scrapes ``/metrics``: the oldest due job's age, the database
pool, and the periodic wallet check (the alerts in ``deploy/prometheus/rules`` read these)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import func, select

from conjure.db import utcnow
from conjure.jobs.models import JOBS, JobStatus
from conjure.observability.metrics import (
    DB_POOL_CHECKED_OUT,
    DB_POOL_SIZE,
    QUEUE_OLDEST_AGE,
    WALLET_CHECK_FAILED,
    WALLET_CHECK_LAST_RUN,
    WALLET_CHECK_PROBLEMS,
)

if TYPE_CHECKING:
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.observability")


class _WalletCheck:
    """At most one check in flight per process, started by a scrape once the interval has passed."""

    task: asyncio.Task[None] | None = None
    last_started = 0.0


async def refresh_scrape_gauges(runtime: Runtime) -> None:
    """Update the gauges a scrape reports; a failure leaves the previous values (and is logged)."""
    try:
        async with runtime.db.session() as session:
            oldest = await session.scalar(
                select(func.min(JOBS.c.run_at)).where(
                    JOBS.c.status == JobStatus.QUEUED, JOBS.c.run_at <= utcnow()
                )
            )
        QUEUE_OLDEST_AGE.set(0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds()))
    except Exception as exc:
        log.warning("queue_age_gauge_failed", error_type=type(exc).__name__)
    pool = runtime.db.engine.sync_engine.pool
    checked_out, size = getattr(pool, "checkedout", None), getattr(pool, "size", None)
    if callable(checked_out) and callable(size):
        # Those the hot statements keep between statements are not in use (conjure.driver_connections).
        DB_POOL_CHECKED_OUT.set(checked_out() - runtime.db.idle_driver_connections)
        DB_POOL_SIZE.set(size())
    _maybe_check_wallets(runtime)


def _maybe_check_wallets(runtime: Runtime) -> None:
    interval = runtime.settings.wallet_check_interval_seconds
    if interval <= 0 or (_WalletCheck.task is not None and not _WalletCheck.task.done()):
        return
    if _WalletCheck.last_started and time.monotonic() - _WalletCheck.last_started < interval:
        return
    _WalletCheck.last_started = time.monotonic()
    _WalletCheck.task = task = asyncio.create_task(_check_wallets(runtime), name="wallet-check")
    runtime.background.add(task)
    task.add_done_callback(runtime.background.discard)


async def _check_wallets(runtime: Runtime) -> None:
    from conjure.wallet.service import check_consistency

    try:
        async with runtime.db.session() as session:
            problems = await check_consistency(session)
    except Exception as exc:
        WALLET_CHECK_FAILED.set(1)
        log.warning("wallet_check_failed", error_type=type(exc).__name__)
        return
    WALLET_CHECK_FAILED.set(0)
    WALLET_CHECK_PROBLEMS.set(len(problems))
    WALLET_CHECK_LAST_RUN.set(time.time())
    if problems:
        log.error("wallet_check_problems", count=len(problems), first=str(problems[0]))
