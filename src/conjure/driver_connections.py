"""asyncpg connections kept out of the engine's pool and lent to one hot statement at a time.

The hot paths (a submit, a status poll, the worker's claim and settle) are one statement each on
a pooled connection's own asyncpg connection. Checking that connection out of SQLAlchemy's pool
and back in (the pool's lock and events, two greenlet switches) cost 60-70 µs of CPU per
statement, more than a one-row statement itself: a tenth of a lone job's worker CPU, paid on its
claim and its settle (under load the coalesced submits and polls share one checkout per batch;
docs/bench.md). Here up to ``limit`` connections stay checked out and go from statement to
statement through a plain list (3 µs); the engine's pool keeps the rest for sessions.

What the pool's checkout did is done here: a connection idle for ``ping_idle_seconds`` is pinged
before use (a server restart hides in idle connections). A connection that was lost, or whose
server said it is going away, is discarded with every idle one (the server probably restarted: they
are dead too, as SQLAlchemy invalidates its pool on a disconnect); one whose statement was
cancelled, alone (its state is unknown; the others are fine).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

log = structlog.get_logger("conjure.db")


class DriverConnections:
    """Lend asyncpg connections held out of ``engine``'s pool; beyond ``limit`` at once, each
    statement checks one out of the pool as before."""

    def __init__(self, engine: AsyncEngine, limit: int, ping_idle_seconds: float) -> None:
        self.engine = engine
        self.limit = limit
        self.ping_idle_seconds = ping_idle_seconds
        self._idle: list[tuple[Any, float]] = []  # (pooled connection, when it came back); last = warmest
        self._held = 0  # checked out of the engine's pool by this lender, idle or lent
        self._closed = False

    @property
    def idle(self) -> int:
        """Connections held here and not lent right now (checked out of the pool, but not in use)."""
        return len(self._idle)

    @asynccontextmanager
    async def lend(self) -> AsyncIterator[Any]:
        proxied = await self._take()
        if proxied is None:  # all ``limit`` lent: this statement uses the pool as before
            async with self._checked_out() as conn:
                yield conn
            return
        try:
            yield proxied.driver_connection
        except asyncpg.PostgresError as exc:
            # The server answered (an SQL error): the connection is fine, unless the answer was
            # that it is going away (57P: a shutdown, a terminated backend; 08: the connection).
            going = str(getattr(exc, "sqlstate", "") or "").startswith(("57P", "08"))
            if going or proxied.driver_connection.is_closed():
                await self._discard([proxied, *self._drain_idle()])
            else:
                await self._give_back(proxied)
            raise
        except (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError):
            # Lost: the server may have restarted, and then the idle ones are dead too.
            await self._discard([proxied, *self._drain_idle()])
            raise
        except BaseException:
            # Cancelled mid-statement (or a bug): this connection's state is unknown, the rest are fine.
            await self._discard([proxied])
            raise
        await self._give_back(proxied)

    async def close(self) -> None:
        """Return the idle connections to the pool (before it is disposed); lent ones follow on return."""
        self._closed = True
        for proxied in self._drain_idle():
            self._held -= 1
            await greenlet_spawn(proxied.close)

    async def _take(self) -> Any | None:
        while self._idle:
            proxied, since = self._idle.pop()
            if time.monotonic() - since < self.ping_idle_seconds:
                return proxied
            try:
                await proxied.driver_connection.fetchval("SELECT 1")
                return proxied
            except Exception as exc:
                log.warning("db_idle_connection_dropped", error_type=type(exc).__name__)
                await self._discard([proxied, *self._drain_idle()])
        if self._held >= self.limit or self._closed:
            return None
        self._held += 1
        try:
            return await self.engine.raw_connection()  # the pool's checkout pings it if it sat idle
        except BaseException:
            self._held -= 1
            raise

    async def _give_back(self, proxied: Any) -> None:
        if self._closed:
            self._held -= 1
            await greenlet_spawn(proxied.close)
            return
        self._idle.append((proxied, time.monotonic()))

    def _drain_idle(self) -> list[Any]:
        idle, self._idle = self._idle, []
        return [proxied for proxied, _ in idle]

    async def _discard(self, connections: list[Any]) -> None:
        for proxied in connections:
            self._held -= 1
            await greenlet_spawn(proxied.invalidate)

    @asynccontextmanager
    async def _checked_out(self) -> AsyncIterator[Any]:
        proxied = await self.engine.raw_connection()
        try:
            yield proxied.driver_connection
        except asyncpg.PostgresError:
            raise
        except BaseException:
            await greenlet_spawn(proxied.invalidate)
            raise
        finally:
            await greenlet_spawn(proxied.close)
