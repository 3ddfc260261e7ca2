"""Migrations run up and down on SQLite and PostgreSQL and match the models."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from conjure.db import Base, make_engine
from conjure.migrations.models import import_all_models
from conjure.migrations.runner import downgrade, upgrade


def _tables_and_diff(url: str) -> tuple[set[str], list[object]]:
    import_all_models()

    def inspect_sync(conn: Connection) -> tuple[set[str], list[object]]:
        tables = set(inspect(conn).get_table_names())
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        return tables, compare_metadata(context, Base.metadata)

    async def run() -> tuple[set[str], list[object]]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            result = await conn.run_sync(inspect_sync)
        await engine.dispose()
        return result

    return asyncio.run(run())


def _up_down_up(url: str) -> None:
    upgrade(url)
    tables, diff = _tables_and_diff(url)
    assert set(Base.metadata.tables) <= tables
    assert diff == [], f"models and migrations differ: {diff}"
    downgrade(url, "base")
    tables, _ = _tables_and_diff(url)
    assert tables <= {"alembic_version"}
    upgrade(url)


def test_migrations_up_and_down_on_sqlite(tmp_path: Path) -> None:
    _up_down_up(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


def test_migrations_up_and_down_on_postgres(pg_admin_url: str) -> None:
    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(pg_admin_url.replace("+asyncpg", ""))
        await conn.execute("CREATE DATABASE migration_check")
        await conn.close()

    asyncio.run(create())
    _up_down_up(pg_admin_url.rsplit("/", 1)[0] + "/migration_check")


def _ledger_update_allowed(url: str) -> bool:
    """Whether an UPDATE of a ledger row goes through (one user, one row, rolled back either way)."""

    async def run() -> bool:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                # Raw values as each backend stores a Uuid column (32 hex characters on SQLite).
                ids: dict[str, object] = {"id": USER_ID, "tx": uuid.uuid4(), "now": NOW}
                if conn.dialect.name == "sqlite":  # (and no reliance on sqlite3's datetime adapter)
                    ids = {"id": USER_ID.hex, "tx": uuid.uuid4().hex, "now": NOW.isoformat(" ")}
                await conn.execute(
                    text(
                        "INSERT INTO users (id, role, star_balance, coin_balance, stars_held, ledger_seq,"
                        " invite_code, total_invites, tier, created_at, updated_at) VALUES"
                        " (:id, 'user', 1, 0, 0, 1, 'MIGRATE1', 0, 'free', :now, :now)"
                    ),
                    {"id": ids["id"], "now": ids["now"]},
                )
                await conn.execute(
                    text(
                        "INSERT INTO wallet_transactions (id, user_id, seq, transaction_type, amount,"
                        " currency, balance_after, held_change, held_after, idempotency_key, flagged,"
                        " created_at) VALUES (:tx, :id, 1, 'grant', 1, 'star', 1, 0, 0, 'k', false, :now)"
                    ),
                    ids,
                )
                try:
                    await conn.execute(text("UPDATE wallet_transactions SET amount = 2"))
                except DBAPIError:
                    return False
                finally:
                    await conn.rollback()
                return True
        finally:
            await engine.dispose()

    return asyncio.run(run())


USER_ID = uuid.uuid4()
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _ledger_guard_follows_0009(url: str) -> None:
    upgrade(url)
    assert not _ledger_update_allowed(url)
    downgrade(url, "0008_ledger_seq")
    assert _ledger_update_allowed(url)
    upgrade(url)
    assert not _ledger_update_allowed(url)


def test_ledger_is_append_only_from_0009_on_sqlite(tmp_path: Path) -> None:
    _ledger_guard_follows_0009(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")


def test_ledger_is_append_only_from_0009_on_postgres(pg_admin_url: str) -> None:
    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(pg_admin_url.replace("+asyncpg", ""))
        await conn.execute("CREATE DATABASE ledger_guard_check")
        await conn.close()

    asyncio.run(create())
    _ledger_guard_follows_0009(pg_admin_url.rsplit("/", 1)[0] + "/ledger_guard_check")
