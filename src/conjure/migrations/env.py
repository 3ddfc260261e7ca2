"""Alembic environment: runs migrations on the async engine for SQLite or PostgreSQL.

The metadata holds the platform's tables and those of every app imported so far (the
entry point that passes its apps has imported their models); it is used by autogenerate only.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from conjure.db import Base, make_engine
from conjure.migrations.legacy import adopt_old_chain
from conjure.migrations.models import import_all_models

import_all_models()
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    known = {script.revision for script in context.script.walk_revisions()}
    if adopt_old_chain(connection, known):
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        # Also when a migration refuses (a downgrade that cannot be done): the pooled connection
        # would otherwise be left to the garbage collector (a ResourceWarning in a later test).
        await engine.dispose()


url = context.config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url must be set by conjure.migrations.runner"
asyncio.run(_run_async(url))
