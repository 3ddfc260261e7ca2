"""Shared fixtures: settings, real PostgreSQL and Redis, a migrated database per test, an API client.

Under pytest-xdist every worker is its own process with its own session fixtures: its own
PostgreSQL cluster and Redis server (on ports from its own block, tests/servers.py) and its
own migrated templates, so workers share nothing but the machine.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis as sync_redis

from conjure.app import create_app
from conjure.migrations.runner import upgrade
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.artifacts import SCREENSHOTS
from tests.receivers import receiver  # noqa: F401  (fixture: a local webhook receiver)
from tests.servers import RedisServer, postgres_server

# The page tests' fixtures (a `conjure up` server, Chromium, a page), for every folder's page tests.
pytest_plugins = ("tests.web.browser",)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _worker_id() -> str:
    """``gw0``, ``gw1``, … under pytest-xdist; ``main`` without it."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> str:
    """A database migrated once with `alembic upgrade head`; each test gets a copy."""
    # Each worker has its own cluster; the worker's name in the template's keeps it unique anyway.
    name = f"conjure_template_{_worker_id()}"

    async def create() -> None:
        conn = await asyncpg.connect(_plain(pg_admin_url))
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    upgrade(pg_admin_url.rsplit("/", 1)[0] + f"/{name}")
    return name


async def _copy_database(conn: asyncpg.Connection, template: str, name: str) -> None:
    # FILE_COPY copies the template's files (one checkpoint, cheap with fsync off) instead of
    # writing them through the WAL: about 4x faster for this small template (PostgreSQL 15+).
    strategy = " STRATEGY FILE_COPY" if conn.get_server_version().major >= 15 else ""
    await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')


@pytest.fixture
async def pg_url(pg_admin_url: str, pg_template: str) -> str:
    """A fresh, migrated PostgreSQL database for this test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_plain(pg_admin_url))
    try:
        await _copy_database(conn, pg_template, name)
    finally:
        await conn.close()
    return pg_admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    if redis_server.process is None:
        redis_server.start()
    sync_redis.Redis.from_url(redis_server.url).flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session (per xdist worker) with `alembic upgrade head`."""
    path = tmp_path_factory.mktemp("sqlite-template") / "conjure.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    # The engine leaves the file in WAL mode; fold the log in and go back to a rollback journal so
    # the template is one self-contained file to copy (each test's engine turns WAL on again).
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh, migrated SQLite database for this test: a copy of the session's template."""
    path = tmp_path / "conjure.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "test",
            "var_dir": tmp_path / "var",
            "jwt_secret": "test-secret-" + "x" * 32,
            "storage_url": f"file://{tmp_path / 'objects'}",
            "retry_base_seconds": 0.05,
            "retry_cap_seconds": 0.2,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture(params=["embedded", "postgres_redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    """Run a test on the embedded default and on PostgreSQL + Redis."""
    if request.param == "embedded":
        return {"database_url": request.getfixturevalue("sqlite_url")}
    return {
        "database_url": request.getfixturevalue("pg_url"),
        "redis_url": request.getfixturevalue("redis_url"),
    }


@pytest.fixture
def sqlite_settings(make_settings: Callable[..., Settings], sqlite_url: str) -> Settings:
    return make_settings(database_url=sqlite_url)


@pytest.fixture
async def runtime(sqlite_settings: Settings) -> AsyncIterator[Runtime]:
    rt = await Runtime.start(sqlite_settings)
    yield rt
    await rt.close()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def pytest_sessionstart(session: pytest.Session) -> None:
    """Empty the screenshot folder once per run, so it shows this run's states only: in the
    controlling process, before any xdist worker starts (a worker emptying it would delete the
    screenshots the other workers had already taken)."""
    if hasattr(session.config, "workerinput"):
        return
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
