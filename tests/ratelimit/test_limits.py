"""Rate limits: per principal (default and per route), per IP before sign-in, login throttling."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import APIRouter, Depends

from conjure.app import create_app
from conjure.apps import AppSpec
from conjure.ratelimit.deps import rate_limit
from conjure.ratelimit.service import make_limiter
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.factories import auth_headers, make_user


@pytest.fixture
async def limited(make_settings: Callable[..., Settings], sqlite_url: str) -> AsyncIterator[Runtime]:
    settings = make_settings(
        database_url=sqlite_url,
        rate_limit_anonymous="3/minute",
        rate_limit_login="3/minute",
        rate_limit_generation="5/minute",
    )
    runtime = await Runtime.start(settings)
    yield runtime
    await runtime.close()


def _client(
    runtime: Runtime, ip: str = "10.0.0.1", *, apps: list[AppSpec] | None = None
) -> httpx.AsyncClient:
    app = create_app(runtime=runtime, apps=apps or [])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 4000)), base_url="http://t")


async def test_101st_request_in_a_minute_is_429(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user, other = await make_user(runtime), await make_user(runtime)
    headers = auth_headers(runtime, user)
    for i in range(100):
        ok = await client.get("/api/v1/me", headers=headers)
        assert ok.status_code == 200, (i, ok.text)
        assert ok.headers["ratelimit-limit"] == "100"
        assert ok.headers["ratelimit-remaining"] == str(99 - i)
    refused = await client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-limit"] == "100"
    assert 1 <= int(refused.headers["ratelimit-reset"]) <= 60
    # Per principal: someone else is not affected; health and metrics are never limited.
    assert (await client.get("/api/v1/me", headers=auth_headers(runtime, other))).status_code == 200
    for _ in range(3):
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200


async def test_route_limit_is_per_principal(limited: Runtime) -> None:
    router = APIRouter()

    @router.post("/generate", dependencies=[Depends(rate_limit("generation", "rate_limit_generation"))])
    async def generate() -> dict[str, bool]:
        return {"ok": True}

    runtime = limited
    alice, bob = await make_user(runtime), await make_user(runtime)
    async with _client(runtime, apps=[AppSpec(name="probe", routers=[router])]) as c:
        for _ in range(5):
            assert (await c.post("/generate", headers=auth_headers(runtime, alice))).status_code == 200
        refused = await c.post("/generate", headers=auth_headers(runtime, alice))
        assert refused.status_code == 429
        assert refused.json()["scope"] == "generation"
        assert refused.headers["ratelimit-limit"] == "5"
        assert (await c.post("/generate", headers=auth_headers(runtime, bob))).status_code == 200
        # Other routes still answer: only the generation bucket is full. Each request counted
        # once in the default bucket (6 generations + this one), though two dependencies need the caller.
        me = await c.get("/api/v1/me", headers=auth_headers(runtime, alice))
        assert me.status_code == 200
        assert me.headers["ratelimit-remaining"] == str(100 - 7)
        # Unauthenticated calls never reach the limiter's principal buckets.
        assert (await c.post("/generate")).status_code == 401


async def test_unauthenticated_routes_are_limited_per_ip(limited: Runtime) -> None:
    async with _client(limited, "10.0.0.1") as first, _client(limited, "10.0.0.2") as second:
        answers = [
            (await first.post("/api/v1/auth/refresh", json={"refresh_token": "rt_x"})).status_code
            for _ in range(4)
        ]
        assert answers == [401, 401, 401, 429]
        assert (await second.post("/api/v1/auth/refresh", json={"refresh_token": "rt_x"})).status_code == 401


async def test_bad_bearer_tokens_count_against_the_ip(limited: Runtime) -> None:
    async with _client(limited) as c:
        # No credential at all is not guessing (a signed-out page): 401 each time, never counted.
        assert [(await c.get("/api/v1/me")).status_code for _ in range(5)] == [401] * 5
        answers = [
            (await c.get("/api/v1/me", headers={"Authorization": "Bearer guess"})).status_code
            for _ in range(4)
        ]
    assert answers == [401, 401, 401, 429]


async def test_login_is_throttled_per_account_across_ips(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    settings = make_settings(database_url=sqlite_url, rate_limit_login="3/minute")
    runtime = await Runtime.start(settings)
    try:
        async with _client(runtime, "10.0.0.1") as c:
            signup = await c.post(
                "/api/v1/auth/signup", json={"email": "ada@example.com", "password": "right pw 1"}
            )
            assert signup.status_code == 201
        answers = []
        for ip in ("10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4"):
            async with _client(runtime, ip) as c:
                login = await c.post(
                    "/api/v1/auth/login", json={"email": "ADA@example.com", "password": "wrong"}
                )
                answers.append(login.status_code)
        assert answers == [401, 401, 401, 429]
        # Even the right password waits now: the account is throttled, not the IP.
        async with _client(runtime, "10.0.1.9") as c:
            right = await c.post(
                "/api/v1/auth/login", json={"email": "ada@example.com", "password": "right pw 1"}
            )
            assert right.status_code == 429
            other = await c.post(
                "/api/v1/auth/login", json={"email": "bob@example.com", "password": "whatever"}
            )
            assert other.status_code == 401
    finally:
        await runtime.close()


async def test_limits_on_redis(make_settings: Callable[..., Settings], redis_url: str) -> None:
    redis = aioredis.from_url(redis_url)
    limiter = make_limiter(make_settings(), redis)
    other = make_limiter(make_settings(), redis)  # a second process's limiter, same Redis
    try:
        assert (await limiter.hit("generation", "user:1", "2/minute")) is not None
        assert (await other.hit("generation", "user:1", "2/minute")) is not None
        with pytest.raises(Exception, match="Too many requests") as raised:
            await limiter.hit("generation", "user:1", "2/minute")
        assert getattr(raised.value, "status", None) == 429
    finally:
        await redis.aclose()


async def test_sign_ups_are_limited_per_ip(make_settings: Callable[..., Settings], sqlite_url: str) -> None:
    runtime = await Runtime.start(make_settings(database_url=sqlite_url, rate_limit_signup="2/hour"))
    try:
        async with _client(runtime, "10.0.0.1") as first, _client(runtime, "10.0.0.2") as second:
            answers = [
                await first.post(
                    "/api/v1/auth/signup", json={"email": f"s{i}@example.com", "password": "pw 12345678"}
                )
                for i in range(3)
            ]
            assert [a.status_code for a in answers] == [201, 201, 429]
            assert answers[2].json()["scope"] == "signup"
            other = await second.post(
                "/api/v1/auth/signup", json={"email": "t@example.com", "password": "pw 12345678"}
            )
            assert other.status_code == 201
            # Signing in is not signing up: the same IP still logs in.
            login = await first.post(
                "/api/v1/auth/login", json={"email": "s0@example.com", "password": "pw 12345678"}
            )
            assert login.status_code == 200
    finally:
        await runtime.close()
