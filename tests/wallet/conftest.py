"""Fixtures for the wallet tests: a migrated database (SQLite or PostgreSQL) and user helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from conjure.db import Database
from conjure.settings import Settings


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The test runs once on the embedded SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def settings(make_settings: Callable[..., Settings], db_url: str) -> Settings:
    return make_settings(database_url=db_url)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()
