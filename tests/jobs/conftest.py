"""Fixtures for the job engine: runtimes with the test kinds, running workers, helpers."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from conjure.db import utcnow
from conjure.jobs.attempt import Claim
from conjure.jobs.models import Job
from conjure.jobs.runner import Runner
from conjure.jobs.service import submit_job
from conjure.jobs.types import Delivery
from conjure.jobs.worker import start_embedded
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import User
from tests.jobs.kinds import APP

ROOT = Path(__file__).resolve().parents[2]
FAST = {"shutdown_grace_seconds": 2.0, "heartbeat_seconds": 0.5, "job_scheduler_poll_seconds": 0.05}
MakeRuntime = Callable[..., Awaitable[Runtime]]


@pytest.fixture
async def make_runtime(make_settings: Callable[..., Settings]) -> AsyncIterator[MakeRuntime]:
    made: list[Runtime] = []

    async def make(**overrides: Any) -> Runtime:
        runtime = await Runtime.start(make_settings(**{**FAST, **overrides}), apps=[APP])
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        await runtime.close()


@pytest.fixture
async def engine(make_runtime: MakeRuntime, backend: dict[str, str]) -> Runtime:
    """A runtime on each backend (embedded SQLite + in-process broker; PostgreSQL + Redis)."""
    return await make_runtime(**backend)


@pytest.fixture
async def pg_redis(make_runtime: MakeRuntime, pg_url: str, redis_url: str) -> Runtime:
    return await make_runtime(database_url=pg_url, redis_url=redis_url)


@asynccontextmanager
async def running(runtime: Runtime) -> AsyncIterator[None]:
    """A worker and the scheduler in this process while the block runs."""
    stop = await start_embedded(runtime)
    try:
        yield
    finally:
        await stop()


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 30.0, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


async def submit(
    runtime: Runtime, kind: str, payload: dict[str, Any] | None = None, *, user: User | None = None, **kw: Any
) -> Job:
    async with runtime.db.session() as session:
        return await submit_job(
            session,
            runtime,
            user_id=user.id if user else None,
            kind=kind,
            payload=payload or {"nonce": uuid.uuid4().hex},
            **kw,
        )


async def load(runtime: Runtime, job_id: uuid.UUID) -> Job:
    async with runtime.db.session() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


async def wait_status(runtime: Runtime, job_id: uuid.UUID, *statuses: str, timeout: float = 30.0) -> Job:
    async def done() -> bool:
        return (await load(runtime, job_id)).status in statuses

    await wait_until(done, timeout, what=f"job {job_id} to be {statuses}")
    return await load(runtime, job_id)


def spawn_worker(settings: Settings, **env_overrides: str) -> subprocess.Popen[bytes]:
    """A real worker process (``python -m tests.jobs.worker_main``) configured through its env."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        {
            "ENVIRONMENT": "test",
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "JWT_SECRET": settings.signing_secret,
            "VAR_DIR": str(settings.var_dir),
            "STORAGE_URL": settings.storage_url,
            "RETRY_BASE_SECONDS": str(settings.retry_base_seconds),
            "RETRY_CAP_SECONDS": str(settings.retry_cap_seconds),
            "VISIBILITY_TIMEOUT_SECONDS": str(settings.visibility_timeout_seconds),
            "HEARTBEAT_SECONDS": str(settings.heartbeat_seconds),
            "RECONCILE_AFTER_SECONDS": str(settings.reconcile_after_seconds),
            "JOB_SCHEDULER_POLL_SECONDS": str(settings.job_scheduler_poll_seconds),
            "SHUTDOWN_GRACE_SECONDS": "2",
            "LOG_LEVEL": "WARNING",
            # Byte-compiled modules cached outside the tree make the second spawn fast.
            "PYTHONPYCACHEPREFIX": "/tmp/conjure-pycache",
            **env_overrides,
        }
    )
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    # The worker's log goes to a file next to the test's data, for a failing test's post-mortem.
    with (settings.var_dir / f"worker-{uuid.uuid4().hex[:6]}.log").open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.worker_main"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


async def claim_all(runner: Runner, job_ids: list[uuid.UUID]) -> list[Claim]:
    """Claim these jobs in one batch (refs 1-0, 2-0, …), in the order given."""
    deliveries = [Delivery(job_id=job_id, ref=f"{i + 1}-0") for i, job_id in enumerate(job_ids)]
    claims, skipped = await runner.claim(deliveries)
    assert skipped == []
    return sorted(claims, key=lambda c: job_ids.index(c.job_id))


async def expire_lease(runtime: Runtime, job_id: uuid.UUID) -> None:
    async with runtime.db.session() as session:
        row = await session.get(Job, job_id)
        assert row is not None
        row.lease_expires_at = utcnow() - dt.timedelta(seconds=1)
