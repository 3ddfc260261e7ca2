"""The staging migration creates exactly the staging models' tables, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from conjure.apps.staging import models
from conjure.db import Base, make_engine
from conjure.migrations.models import import_all_models
from conjure.migrations.runner import downgrade, upgrade

TABLES = {
    models.Project.__tablename__,
    models.StagedImage.__tablename__,
    models.Prediction.__tablename__,
    models.ReplicateWebhook.__tablename__,
    models.Upload.__tablename__,
}


def _staging_diff(url: str) -> tuple[set[str], list[object]]:
    """The staging tables present, and how they differ from the models."""
    import_all_models()

    def compare(conn: Connection) -> tuple[set[str], list[object]]:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, Base.metadata)
        present = set(inspect(conn).get_table_names()) & TABLES
        return present, [d for d in diff if any(table in repr(d) for table in TABLES)]

    async def run() -> tuple[set[str], list[object]]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            result = await conn.run_sync(compare)
        await engine.dispose()
        return result

    return asyncio.run(run())


def test_staging_tables_match_the_models_and_go_down(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert _staging_diff(url) == (TABLES, [])
    downgrade(url, "staging@base")  # the staging branch only
    present, _ = _staging_diff(url)
    assert present == set()
    upgrade(url)
    assert _staging_diff(url) == (TABLES, [])


def test_staging_tables_match_the_models_on_postgres(pg_admin_url: str) -> None:
    async def create() -> None:
        conn = await asyncpg.connect(pg_admin_url.replace("+asyncpg", ""))
        await conn.execute("CREATE DATABASE staging_migration_check")
        await conn.close()

    asyncio.run(create())
    url = pg_admin_url.rsplit("/", 1)[0] + "/staging_migration_check"
    upgrade(url)
    assert _staging_diff(url) == (TABLES, [])
