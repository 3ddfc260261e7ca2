"""The wallet check a scrape starts in the background ends with its runtime: it never holds a
database connection past ``Runtime.close`` (a task left behind would use a closed pool)."""

from __future__ import annotations

import asyncio

import pytest

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
