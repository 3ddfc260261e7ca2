"""Shared fixtures: settings, real PostgreSQL and Redis, a migrated database per test, an API client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
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
from tests.servers import RedisServer, postgres_server


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> str:
    """A database migrated once with `alembic upgrade head`; each test gets a copy."""

    async def create() -> None:
        conn = await asyncpg.connect(_plain(pg_admin_url))
        await conn.execute("CREATE DATABASE conjure_template")
        await conn.close()

    asyncio.run(create())
    url = pg_admin_url.rsplit("/", 1)[0] + "/conjure_template"
    upgrade(url)
    return "conjure_template"


@pytest.fixture
async def pg_url(pg_admin_url: str, pg_template: str) -> str:
    """A fresh, migrated PostgreSQL database for this test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_plain(pg_admin_url))
    await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE {pg_template}')
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


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite database for this test."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'conjure.db'}"
    upgrade(url)
    return url


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
