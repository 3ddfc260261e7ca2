"""Database engine, sessions and the declarative base, for SQLite and PostgreSQL alike.

Services take an ``AsyncSession`` and never commit; whoever opened the session
(the request dependency, the job runner) commits. Side effects that must only
happen once the data is durable (dispatching a job, publishing an event) are
registered with :func:`after_commit` and run after a successful commit.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, cast

import structlog
from sqlalchemy import JSON, CursorResult, DateTime, MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from conjure.driver_connections import DriverConnections

log = structlog.get_logger("conjure.db")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
AfterCommit = Callable[[], Awaitable[Any]]


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    """An engine tuned for the backend: WAL + busy timeout on SQLite, a pool on PostgreSQL."""
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: SQL errors must not echo payloads (questions, readings) into logs.
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            # Let SQLAlchemy, not the driver, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Take the write lock up front so concurrent writers queue instead of
            # failing on lock upgrade; this is what makes money rows safe on SQLite.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # The same 2 × pool_size connections at most as before, but all of them kept once opened:
    # overflow connections were closed on checkin and reopened under the next burst, and that
    # churn (connect, the SSL probe, startup) was ~8 % of a status poll's API CPU at 64 clients.
    engine = create_async_engine(url, pool_size=2 * pool_size, max_overflow=0, hide_parameters=True)
    _ping_idle_connections(engine)
    return engine


# A connection back in the pool less than this long ago was just used; it is not pinged.
PING_IDLE_SECONDS = 5.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Ping a pooled connection at checkout only when it sat idle (where a server restart hides).

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, and asyncpg's ping is three round
    trips (BEGIN, a query, ROLLBACK): under load that was a third of a status poll's round
    trips (docs/bench.md). A dead connection found here is replaced before use; one that dies
    mid-request is a disconnect error, on which SQLAlchemy invalidates the whole pool.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(dbapi_conn: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since < PING_IDLE_SECONDS:
            return
        try:
            dbapi_conn.ping()
        except Exception as exc:
            raise DisconnectionError("idle connection failed its ping") from exc


class Database:
    """The engine and session factory for one process."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # Half the engine's pool (``make_engine``) at most: sessions keep the other half.
        self._lender = DriverConnections(self.engine, pool_size, PING_IDLE_SECONDS)

    @property
    def idle_driver_connections(self) -> int:
        """Connections the hot statements keep checked out of the pool while none uses them."""
        return self._lender.idle

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commit on success, roll back on error, then run after-commit hooks."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                session.info.pop("after_commit", None)
                raise
        await run_after_commit(session)

    def driver_connection(self) -> AbstractAsyncContextManager[Any]:
        """PostgreSQL only: an asyncpg connection of the pool's, for hand-written hot paths.

        Each statement is its own transaction (no BEGIN/COMMIT round trips) and asyncpg caches
        its prepared statement; the ORM's per-statement overhead is gone too, and so is the
        pool's checkout (:mod:`conjure.driver_connections`). Used where one statement does the
        whole job (``submit_job_now``, ``job_view_for_user``, the worker's claim and settle);
        docs/bench.md has the figures. A connection that failed other than with a server-side
        SQL error is discarded instead of being used again.
        """
        return self._lender.lend()

    async def dispose(self) -> None:
        await self._lender.close()
        await self.engine.dispose()


def after_commit(session: AsyncSession, action: AfterCommit) -> None:
    """Run ``action`` once the session's transaction has committed; drop it on rollback."""
    session.info.setdefault("after_commit", []).append(action)


async def run_after_commit(session: AsyncSession) -> None:
    for action in session.info.pop("after_commit", []):
        try:
            await action()
        except Exception:
            # The data is committed; a failed side effect is recovered by the
            # reconciler (dispatch) or is best-effort (events), never re-raised.
            log.exception("after_commit_failed")


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on either backend; True when a row was inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = await session.execute(insert(table).values(**values).on_conflict_do_nothing())
    return cast(CursorResult[Any], result).rowcount == 1
