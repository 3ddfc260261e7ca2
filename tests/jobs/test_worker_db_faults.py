"""A worker's own writes survive expected database faults: a claim, a heartbeat or a progress step
that hits a deadlock (40P01) or serialization failure (40001) is written again, not failed (so no
attempt is burnt); SQLite's "database is locked" is the same kind of fault (retried, then 503)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from conjure.dbfaults import DatabaseFaultMiddleware, is_retryable, retry_transaction
from conjure.jobs.models import JobStatus
from conjure.jobs.runner import Runner
from conjure.runtime import Runtime
from tests.jobs.conftest import claim_all, load, submit
from tests.jobs.test_db_faults import fired, inject


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
async def test_a_claim_that_hits_a_fault_is_claimed_on_the_retry(pg_redis: Runtime, sqlstate: str) -> None:
    job = await submit(pg_redis, "t.noop", {"n": 1})
    counter = await inject(
        pg_redis.settings.database_url,
        table="jobs",
        event="UPDATE",
        sqlstate=sqlstate,
        when="OLD.status = 'queued' AND NEW.status = 'processing'",
    )
    runner = Runner(pg_redis, "worker-a")
    [claim] = await claim_all(runner, [job.id])
    assert claim.attempt == 1
    assert await fired(pg_redis, counter) == 2
    await asyncio.wait_for(runner.run(claim), 30)
    done = await load(pg_redis, job.id)
    assert (done.status, done.attempts) == (JobStatus.SUCCEEDED, 1)


async def test_a_heartbeat_that_hits_a_deadlock_still_extends_the_lease(pg_redis: Runtime) -> None:
    job = await submit(pg_redis, "t.sleepy", {"seconds": 0})
    runner = Runner(pg_redis, "worker-a")
    [claim] = await claim_all(runner, [job.id])
    before = (await load(pg_redis, job.id)).lease_expires_at
    assert before is not None
    counter = await inject(
        pg_redis.settings.database_url,
        table="jobs",
        event="UPDATE",
        sqlstate="40P01",
        when="OLD.status = 'processing' AND NEW.heartbeat_at <> OLD.heartbeat_at",
    )
    await asyncio.sleep(0.05)
    await runner.heartbeat([claim])  # raised 40P01 before: the lease ran out, the job was lost
    assert await fired(pg_redis, counter) == 2
    after = (await load(pg_redis, job.id)).lease_expires_at
    assert after is not None
    assert after > before


async def test_a_progress_step_that_hits_a_deadlock_does_not_fail_the_attempt(pg_redis: Runtime) -> None:
    job = await submit(pg_redis, "t.steps", {"steps": ["analyzing", "reading"]})
    counter = await inject(
        pg_redis.settings.database_url,
        table="job_events",
        event="INSERT",
        sqlstate="40P01",
        when="NEW.type = 'progress'",
    )
    runner = Runner(pg_redis, "worker-a")
    [claim] = await claim_all(runner, [job.id])
    await asyncio.wait_for(runner.run(claim), 30)
    done = await load(pg_redis, job.id)
    assert (done.status, done.attempts) == (JobStatus.SUCCEEDED, 1)
    assert await fired(pg_redis, counter) == 3  # the first step failed once, then both written


def _locked_error(path: Path) -> OperationalError:
    """A real SQLite "database is locked", as SQLAlchemy raises it (another writer holds the lock)."""
    holder = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        holder.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as caught:
            other.execute("BEGIN IMMEDIATE")
        holder.execute("ROLLBACK")
    finally:
        holder.close()
        other.close()
    return OperationalError("BEGIN IMMEDIATE", {}, caught.value)


async def test_a_locked_sqlite_database_is_a_transient_fault(tmp_path: Path) -> None:
    locked = _locked_error(tmp_path / "locked.db")
    assert is_retryable(locked)
    assert not is_retryable(OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")))
    tries = 0

    async def write() -> str:
        nonlocal tries
        tries += 1
        if tries == 1:
            raise locked
        return "written"

    assert await retry_transaction(write, what="test") == "written"
    assert tries == 2


async def test_a_request_on_a_locked_sqlite_database_is_retried_then_answers_503(tmp_path: Path) -> None:
    locked = _locked_error(tmp_path / "locked.db")
    calls = {"once": 0, "always": 0}
    app = FastAPI()

    @app.post("/once")
    async def once() -> dict[str, int]:
        calls["once"] += 1
        if calls["once"] == 1:
            raise locked
        return calls

    @app.post("/always")
    async def always() -> dict[str, int]:
        calls["always"] += 1
        raise locked

    app.add_middleware(DatabaseFaultMiddleware)  # as conjure.app installs it: the innermost
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        retried = await client.post("/once", json={})
        busy = await client.post("/always", json={})
    assert (retried.status_code, calls["once"]) == (200, 2)
    assert (busy.status_code, busy.json()["code"]) == (503, "service_unavailable")
    assert int(busy.headers["Retry-After"]) >= 1
    assert calls["always"] == 4  # every try, then the 503
