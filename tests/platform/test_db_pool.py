"""The PostgreSQL pool pings only idle connections, and replaces one the server dropped."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import event, text
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


async def _driver_pid(database: Database) -> int:
    async with database.driver_connection() as conn:
        return int(await conn.fetchval("SELECT pg_backend_pid()"))


@pytest.mark.parametrize("connection", ["session", "driver"])
async def test_idle_connection_dropped_by_the_server_is_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, connection: str
) -> None:
    """A session's pooled connection and a hot statement's lent one alike: an idle one is pinged
    first, and when its ping fails a new one is used instead."""
    monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", 0.0)
    database = Database(pg_url, pool_size=1)
    pid = _backend_pid if connection == "session" else _driver_pid
    try:
        first = await pid(database)
        assert await _drop_other_connections(pg_url) == 1
        assert await pid(database) != first
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


async def test_hot_statements_keep_their_connection_out_of_the_pool(pg_url: str) -> None:
    """One pool checkout for many driver statements; past the limit, the pool serves the rest."""
    database = Database(pg_url, pool_size=1)
    checkouts: list[object] = []
    event.listen(database.engine.sync_engine, "checkout", lambda *args: checkouts.append(args))
    try:
        first = await _driver_pid(database)
        assert [await _driver_pid(database) for _ in range(5)] == [first] * 5
        assert len(checkouts) == 1
        assert (database.engine.pool.checkedout(), database.idle_driver_connections) == (1, 1)
        async with database.driver_connection() as held:  # the lent one is busy: the pool lends
            assert await _driver_pid(database) != await held.fetchval("SELECT pg_backend_pid()")
        assert len(checkouts) == 2
    finally:
        await database.dispose()
    assert database.engine.pool.checkedout() == 0  # every connection went back before disposal


async def test_lent_connection_that_failed_is_discarded(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", 3600.0)
    database = Database(pg_url, pool_size=1)
    try:
        first = await _driver_pid(database)
        await _drop_other_connections(pg_url)
        # How the dead connection fails depends on when the termination notice is read (before
        # the query: a client-side state error; as its answer: 57P01; after: connection lost).
        failures = (asyncpg.InterfaceError, asyncpg.InternalClientError, asyncpg.PostgresError, OSError)
        with pytest.raises(failures):
            await _driver_pid(database)  # used within the window: the error surfaces ...
        assert await _driver_pid(database) != first  # ... and the next statement gets a new one
        with pytest.raises(asyncpg.PostgresError):  # an SQL error keeps the connection
            async with database.driver_connection() as conn:
                await conn.execute("SELECT 1/0")
        second = await _driver_pid(database)
        assert await _driver_pid(database) == second
    finally:
        await database.dispose()


async def test_lent_connection_the_server_closed_with_an_error_is_discarded(pg_url: str) -> None:
    """An error the server sends as it closes the connection (a shutdown, a terminated backend)
    discards the connection instead of lending it again."""
    database = Database(pg_url, pool_size=1)
    try:
        first = await _driver_pid(database)
        with pytest.raises(asyncpg.PostgresError):
            async with database.driver_connection() as conn:
                await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        assert await _driver_pid(database) != first
    finally:
        await database.dispose()


async def test_a_cancelled_statement_discards_its_connection_only(pg_url: str) -> None:
    """A statement cancelled midway leaves its connection in an unknown state: that one goes; the
    idle ones are healthy and stay (no reconnecting after every client that hung up)."""
    database = Database(pg_url, pool_size=2)
    try:
        async with database.driver_connection() as first, database.driver_connection() as second:
            pids = {
                await first.fetchval("SELECT pg_backend_pid()"),
                await second.fetchval("SELECT pg_backend_pid()"),
            }
        assert database.idle_driver_connections == 2

        async def sleeping() -> None:
            async with database.driver_connection() as conn:
                await conn.execute("SELECT pg_sleep(30)")

        task = asyncio.create_task(sleeping())
        while database.idle_driver_connections == 2:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert database.idle_driver_connections == 1
        assert await _driver_pid(database) in pids
    finally:
        await database.dispose()
