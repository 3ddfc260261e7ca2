"""Telling database faults apart (retryable, unavailable, text it cannot store, anything else) and
the HTTP retry of a whole request: its body is read again, a fault that is not the database's stays
a 500."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from conjure import dbfaults
from conjure.dbfaults import DatabaseFaultMiddleware, is_retryable, is_unavailable, retry_transaction
from conjure.errors import install_error_handlers


def wrapped(orig: BaseException) -> DBAPIError:
    """As SQLAlchemy raises a driver's error (``orig``)."""
    return DBAPIError("SELECT 1", None, orig)


def test_serialization_failures_and_deadlocks_are_retryable_wrapped_or_not() -> None:
    for error in (asyncpg.exceptions.SerializationError("x"), asyncpg.exceptions.DeadlockDetectedError("x")):
        assert is_retryable(error)
        assert is_retryable(wrapped(error))
        assert not is_unavailable(error)
    assert not is_retryable(asyncpg.exceptions.UniqueViolationError("x"))
    assert not is_retryable(ValueError("40001"))


def test_a_server_going_away_is_unavailable() -> None:
    for error in (
        asyncpg.exceptions.CannotConnectNowError("starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating"),
        asyncpg.exceptions.TooManyConnectionsError("full"),
    ):
        assert is_unavailable(error)
        assert is_unavailable(wrapped(error))
    assert not is_unavailable(asyncpg.exceptions.UniqueViolationError("x"))


def test_an_oserror_is_the_databases_only_when_the_driver_raised_it() -> None:
    with pytest.raises(ConnectionRefusedError) as raised:
        raise ConnectionRefusedError(111, "refused")  # from this module, not asyncpg's
    assert not is_unavailable(raised.value)
    assert not is_unavailable(TimeoutError())


async def test_retry_transaction_gives_up_after_its_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dbfaults, "RETRY_BASE_SECONDS", 0.0)
    calls = 0

    async def always_deadlocks() -> None:
        nonlocal calls
        calls += 1
        raise asyncpg.exceptions.DeadlockDetectedError("x")

    with pytest.raises(asyncpg.exceptions.DeadlockDetectedError):
        await retry_transaction(always_deadlocks, what="test")
    assert calls == dbfaults.RETRY_ATTEMPTS

    async def not_retryable() -> None:
        nonlocal calls
        calls += 1
        raise asyncpg.exceptions.UniqueViolationError("x")

    calls = 0
    with pytest.raises(asyncpg.exceptions.UniqueViolationError):
        await retry_transaction(not_retryable, what="test")
    assert calls == 1


def faulty_app(faults: list[BaseException]) -> tuple[FastAPI, list[Any]]:
    """A route that raises the next of ``faults`` (if any), else echoes its JSON body."""
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(DatabaseFaultMiddleware)
    bodies: list[Any] = []

    @app.post("/echo")
    async def echo(request: Request) -> Any:
        bodies.append(await request.json())
        if faults:
            raise faults.pop(0)
        return bodies[-1]

    return app, bodies


async def test_a_request_that_hit_a_deadlock_runs_again_with_its_body() -> None:
    app, bodies = faulty_app([wrapped(asyncpg.exceptions.DeadlockDetectedError("x"))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post("/echo", json={"n": 1})
    assert (response.status_code, response.json()) == (200, {"n": 1})
    assert bodies == [{"n": 1}, {"n": 1}]


async def test_a_request_out_of_retries_is_503_and_other_errors_stay_500(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dbfaults, "RETRY_BASE_SECONDS", 0.0)
    faults: list[BaseException] = [
        wrapped(asyncpg.exceptions.SerializationError("x")) for _ in range(dbfaults.RETRY_ATTEMPTS)
    ]
    app, bodies = faulty_app([*faults, TimeoutError("a model call timed out")])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        exhausted = await client.post("/echo", json={})
        other = await client.post("/echo", json={})
    assert exhausted.status_code == 503
    assert exhausted.json()["code"] == "service_unavailable"
    assert exhausted.headers["Retry-After"] == str(dbfaults.UNAVAILABLE_RETRY_AFTER_SECONDS)
    assert len(bodies) == dbfaults.RETRY_ATTEMPTS + 1
    assert (other.status_code, other.json()["code"]) == (500, "internal_error")


async def test_text_postgresql_cannot_store_that_a_schema_let_through_is_a_422(pg_url: str) -> None:
    """NUL in text (22021) or in jsonb (22P05) reaching PostgreSQL is the client's error, not a 500;
    the routes' schemas refuse it first, so this is the net under a schema that forgot to."""
    engine = create_async_engine(pg_url)
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(DatabaseFaultMiddleware)

    @app.post("/store")
    async def store(request: Request) -> Any:
        body = await request.json()
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS said (t text, j jsonb)"))
            await conn.execute(text("INSERT INTO said VALUES (:t, CAST(:j AS jsonb))"), body)
        return {"stored": True}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            fine = await client.post("/store", json={"t": "plain", "j": '{"a": "plain"}'})
            in_text = await client.post("/store", json={"t": "a\x00b", "j": "{}"})
            in_json = await client.post("/store", json={"t": "plain", "j": '{"a": "a\\u0000b"}'})
    finally:
        await engine.dispose()
    assert fine.json() == {"stored": True}
    for refused in (in_text, in_json):
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_text"), refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
