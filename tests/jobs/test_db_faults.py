"""Database faults injected into a real PostgreSQL: a serialization failure (40001) or deadlock
(40P01) is retried as a whole transaction (one job, one hold, one capture, no attempt burnt), and
an unreachable database answers 503 ``service_unavailable`` with Retry-After, logged without a
traceback at ERROR."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
import pytest
from sqlalchemy import select

from conjure.app import create_app
from conjure.db import Database
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.runner import Runner
from conjure.jobs.service import submit_job_now
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.wallet.models import WalletTransaction
from tests.factories import auth_headers, make_user
from tests.jobs.conftest import MakeRuntime, claim_all, load, submit
from tests.jobs.kinds import APP
from tests.servers import free_port

# Raises SQLSTATE TG_ARGV[0] the first TG_ARGV[2] times the trigger fires, counted in the
# sequence TG_ARGV[1]: a sequence is not rolled back with the failed transaction, a marker row would be.
RAISE_FIRST_TIMES = """
CREATE OR REPLACE FUNCTION test_raise_first_times() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval(TG_ARGV[1]::regclass) <= TG_ARGV[2]::int THEN
        RAISE EXCEPTION 'injected fault %', TG_ARGV[0] USING ERRCODE = TG_ARGV[0];
    END IF;
    RETURN NEW;
END $$
"""


async def inject(url: str, *, table: str, event: str, sqlstate: str, times: int = 1, when: str = "") -> str:
    """Install a trigger on ``table`` that fails ``event`` with ``sqlstate`` its first ``times``
    times; returns its counter (a sequence: how often the trigger fired)."""
    counter = f"fault_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(RAISE_FIRST_TIMES)
        await conn.execute(f"CREATE SEQUENCE {counter}")
        condition = f"WHEN ({when})" if when else ""
        await conn.execute(
            f"CREATE TRIGGER {counter} BEFORE {event} ON {table} FOR EACH ROW {condition} "
            f"EXECUTE FUNCTION test_raise_first_times('{sqlstate}', '{counter}', '{times}')"
        )
    finally:
        await conn.close()
    return counter


async def fired(runtime: Runtime, counter: str) -> int:
    async with runtime.db.driver_connection() as conn:
        row = await conn.fetchrow(f"SELECT last_value, is_called FROM {counter}")
    return int(row["last_value"]) if row["is_called"] else 0


async def ledger(runtime: Runtime, user_id: uuid.UUID, tx_type: str) -> list[WalletTransaction]:
    async with runtime.db.session() as session:
        rows = await session.scalars(
            select(WalletTransaction).where(
                WalletTransaction.user_id == user_id, WalletTransaction.transaction_type == tx_type
            )
        )
        return list(rows)


async def jobs_of(runtime: Runtime, user_id: uuid.UUID) -> list[Job]:
    async with runtime.db.session() as session:
        return list((await session.scalars(select(Job).where(Job.user_id == user_id))).all())


@pytest.fixture
async def pg_app(
    make_settings: Callable[..., Settings], pg_url: str, redis_url: str
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    runtime = await Runtime.start(make_settings(database_url=pg_url, redis_url=redis_url))
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield runtime, client
    finally:
        await runtime.close()


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
async def test_a_submit_that_hits_a_serialization_fault_is_retried_once_whole(
    pg_app: tuple[Runtime, httpx.AsyncClient], pg_url: str, sqlstate: str
) -> None:
    runtime, client = pg_app
    user = await make_user(runtime, stars=3)
    counter = await inject(pg_url, table="jobs", event="INSERT", sqlstate=sqlstate)
    response = await client.post(
        "/api/v1/tarot/read",
        json={"question": "Will this submit survive?"},
        headers=auth_headers(runtime, user),
    )
    assert response.status_code == 202, response.text
    assert await fired(runtime, counter) == 2  # failed once, then written by the retry
    jobs = await jobs_of(runtime, user.id)
    assert [job.id for job in jobs] == [uuid.UUID(response.json()["job_id"])]
    assert len(await ledger(runtime, user.id, "hold")) == 1


async def test_the_one_statement_submit_retries_itself(pg_redis: Runtime) -> None:
    user = await make_user(pg_redis, stars=1)
    counter = await inject(pg_redis.settings.database_url, table="jobs", event="INSERT", sqlstate="40P01")
    job = await submit_job_now(pg_redis, user_id=user.id, kind="t.paid", payload={"n": 1})
    assert await fired(pg_redis, counter) == 2
    assert [j.id for j in await jobs_of(pg_redis, user.id)] == [job.id]
    assert len(await ledger(pg_redis, user.id, "hold")) == 1


async def test_a_session_route_that_hits_a_deadlock_runs_again_as_a_whole(
    pg_app: tuple[Runtime, httpx.AsyncClient], pg_url: str
) -> None:
    runtime, client = pg_app
    user = await make_user(runtime, stars=1)
    headers = auth_headers(runtime, user)
    accepted = await client.post(
        "/api/v1/tarot/read", json={"question": "Cancel me, please?"}, headers=headers
    )
    job_id = accepted.json()["job_id"]
    counter = await inject(
        pg_url, table="jobs", event="UPDATE", sqlstate="40P01", when="NEW.status = 'canceled'"
    )
    response = await client.post(f"/api/v1/jobs/{job_id}/cancel", headers=headers)
    assert response.status_code == 200, response.text
    assert await fired(runtime, counter) == 2
    assert (await load(runtime, uuid.UUID(job_id))).status == JobStatus.CANCELED
    assert len(await ledger(runtime, user.id, "release")) == 1


async def test_a_settle_that_hits_a_deadlock_retries_the_settle_not_the_job(pg_redis: Runtime) -> None:
    user = await make_user(pg_redis, stars=1)
    job = await submit(pg_redis, "t.paid", {"n": 1}, user=user)
    # Twice: the batch's write and, without a retry of the settle itself, the job's settle on
    # its own would both fail, and the success would be retried as a new attempt.
    counter = await inject(
        pg_redis.settings.database_url,
        table="jobs",
        event="UPDATE",
        sqlstate="40P01",
        times=2,
        when="NEW.status = 'succeeded'",
    )
    runner = Runner(pg_redis, "worker-a")
    [claim] = await claim_all(runner, [job.id])
    await asyncio.wait_for(runner.run(claim), 30)
    settled = await load(pg_redis, job.id)
    assert (settled.status, settled.attempts) == (JobStatus.SUCCEEDED, 1)
    assert await fired(pg_redis, counter) == 3
    assert len(await ledger(pg_redis, user.id, "capture")) == 1


async def test_an_unreachable_database_answers_503_with_retry_after(
    make_runtime: MakeRuntime, pg_url: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = await make_runtime(database_url=pg_url, redis_url=redis_url)
    admin = await make_user(runtime, admin=True)
    headers = auth_headers(runtime, admin)
    app = create_app(runtime=runtime, apps=[APP])
    # The runtime's database now points at a port nobody listens on (PostgreSQL down).
    await runtime.db.dispose()
    runtime.db = Database(f"postgresql+asyncpg://conjure@127.0.0.1:{free_port()}/gone")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        capsys.readouterr()
        poll = await client.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=headers)
        listing = await client.get("/api/v1/admin/jobs", headers=headers)
    for response in (poll, listing):
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable"
        assert int(response.headers["Retry-After"]) >= 1
    logged = capsys.readouterr().err  # one warning line per request, no traceback, no error
    assert logged.count("database_unavailable") == 2
    assert "Traceback" not in logged
    assert "unhandled_error" not in logged


async def test_pooled_connections_killed_by_a_restart_answer_503_then_recover(
    pg_app: tuple[Runtime, httpx.AsyncClient], pg_admin_url: str, pg_url: str
) -> None:
    runtime, client = pg_app
    admin = await make_user(runtime, admin=True)
    headers = auth_headers(runtime, admin)
    assert (await client.get("/api/v1/admin/jobs", headers=headers)).status_code == 200
    # What a PostgreSQL restart does to the pool: every connection to this database is gone.
    conn = await asyncpg.connect(pg_admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            pg_url.rsplit("/", 1)[1],
        )
    finally:
        await conn.close()
    statuses = [(await client.get("/api/v1/admin/jobs", headers=headers)).status_code for _ in range(3)]
    # At most the requests on dead connections fail, as 503s; the pool is replaced and then serves.
    assert set(statuses) <= {200, 503}
    assert statuses[-1] == 200
