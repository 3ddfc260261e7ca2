"""Migrations run up and down on SQLite and PostgreSQL and match the models."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

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
