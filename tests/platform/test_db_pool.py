"""The PostgreSQL pool pings only idle connections, and replaces one the server dropped."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from conjure import db as db_module
from conjure.db import Database


async def _drop_other_connections(url: str) -> int:
    """What a server restart or an idle timeout does to pooled connections."""
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        dropped = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return int(dropped)


async def _backend_pid(database: Database) -> int:
    async with database.session() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_idle_connection_dropped_by_the_server_is_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", 0.0)
    database = Database(pg_url, pool_size=1)
    try:
        first = await _backend_pid(database)
        assert await _drop_other_connections(pg_url) == 1
        # The pooled connection is dead; its ping at checkout fails and a new one is used.
        assert await _backend_pid(database) != first
    finally:
        await database.dispose()


async def test_recently_used_connection_is_not_pinged(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", 3600.0)
    database = Database(pg_url, pool_size=1)
    try:
        await _backend_pid(database)
        await _drop_other_connections(pg_url)
        # No ping within the window: the dead connection is used and the error surfaces
        # (this is the trade-off against pinging on every checkout, see docs/bench.md) ...
        with pytest.raises(DBAPIError):
            await _backend_pid(database)
        # ... and SQLAlchemy invalidates the pool on the disconnect, so the next one works.
        assert await _backend_pid(database) > 0
    finally:
        await database.dispose()
