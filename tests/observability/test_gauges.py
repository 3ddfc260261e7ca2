"""The gauges a scrape refreshes: the wallet check it starts in the background ends with its
runtime (a task left behind would use a closed pool); the pool gauge counts connections in use."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from conjure.observability import gauges
from conjure.runtime import Runtime
from conjure.settings import Settings


async def test_a_scrapes_wallet_check_does_not_outlive_its_runtime(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    checking = asyncio.Event()

    async def slow_check(session: object) -> list[str]:
        checking.set()
        await asyncio.sleep(30)
        return []

    monkeypatch.setattr("conjure.wallet.service.check_consistency", slow_check)
    monkeypatch.setattr(gauges._WalletCheck, "task", None)
    monkeypatch.setattr(gauges._WalletCheck, "last_started", 0.0)
    runtime = await Runtime.start(sqlite_settings)
    await gauges.refresh_scrape_gauges(runtime)
    task = gauges._WalletCheck.task
    assert task is not None
    await asyncio.wait_for(checking.wait(), 5)
    await runtime.close()
    assert task.cancelled()
    assert not runtime.background


async def test_the_pool_gauge_counts_connections_in_use_not_the_hot_statements_idle_ones(
    make_settings: Callable[..., Settings], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gauges._WalletCheck, "last_started", time.monotonic())  # no wallet check
    runtime = await Runtime.start(make_settings(database_url=pg_url))
    try:
        async with runtime.db.driver_connection() as conn:
            await conn.fetchval("SELECT 1")
        assert runtime.db.engine.sync_engine.pool.checkedout() == 1  # kept for the next statement
        await gauges.refresh_scrape_gauges(runtime)
        assert REGISTRY.get_sample_value("conjure_db_pool_checked_out") == 0
        async with runtime.db.driver_connection():
            await gauges.refresh_scrape_gauges(runtime)
            assert REGISTRY.get_sample_value("conjure_db_pool_checked_out") == 1
    finally:
        await runtime.close()
