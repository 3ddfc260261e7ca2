"""Rate limits while Redis is down: reads stay open, writes fall back per process, money routes close."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import APIRouter

from conjure.app import create_app
from conjure.apps import AppSpec
from conjure.auth.deps import CurrentPrincipal
from conjure.ratelimit.policy import on_outage
from conjure.ratelimit.service import Outage, RateLimited, RateLimitsUnavailable, make_limiter
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.factories import auth_headers, make_user
from tests.servers import RedisServer

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
async def dead_redis() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(DEAD_REDIS, socket_connect_timeout=0.2)
    yield client
    await client.aclose()


async def test_each_policy_when_the_store_is_unreachable(
    make_settings: Callable[..., Settings], dead_redis: aioredis.Redis
) -> None:
    limiter = make_limiter(make_settings(rate_limit_api_processes=2), dead_redis)
    # open: let through, no state to report.
    for _ in range(5):
        assert await limiter.hit("default", "user:1", "1/minute", on_outage=Outage.OPEN) is None
    # local: this process's share, 4 ÷ 2 processes = 2, counted in memory.
    first = await limiter.hit("generation", "user:1", "4/minute", on_outage=Outage.LOCAL)
    assert first is not None
    assert (first.limit, first.remaining) == (2, 1)
    await limiter.hit("generation", "user:1", "4/minute", on_outage=Outage.LOCAL)
    with pytest.raises(RateLimited):
        await limiter.hit("generation", "user:1", "4/minute", on_outage=Outage.LOCAL)
    # A limit smaller than the number of processes still allows one per process, not zero.
    assert await limiter.hit("payment", "user:9", "1/minute") is not None  # local is the default
    # closed: 503 service_unavailable with Retry-After.
    with pytest.raises(RateLimitsUnavailable) as refused:
        await limiter.hit("payment", "user:1", "10/minute", on_outage=Outage.CLOSED)
    assert (refused.value.status, refused.value.code) == (503, "service_unavailable")
    assert refused.value.headers == {"Retry-After": "5"}


async def test_a_down_store_is_not_retried_on_every_request(
    make_settings: Callable[..., Settings], dead_redis: aioredis.Redis
) -> None:
    limiter = make_limiter(make_settings(), dead_redis)
    calls = 0
    original = limiter._hit

    async def counting(*args: object, **kwargs: object) -> tuple[bool, float, int]:
        nonlocal calls
        calls += 1
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    limiter._hit = counting  # type: ignore[method-assign]
    for _ in range(20):
        await limiter.hit("default", "user:1", "100/minute", on_outage=Outage.OPEN)
    assert calls == 1
    limiter._store_down_until = time.monotonic() - 1  # the pause is over: the store is tried again
    await limiter.hit("default", "user:1", "100/minute", on_outage=Outage.OPEN)
    assert calls == 2


def probe_app() -> AppSpec:
    router = APIRouter()

    @router.post("/probe/write")
    async def write(_: CurrentPrincipal) -> dict[str, bool]:
        return {"ok": True}

    @router.post("/probe/read-like", openapi_extra=on_outage(Outage.OPEN))
    async def search(_: CurrentPrincipal) -> dict[str, bool]:
        return {"ok": True}

    return AppSpec(name="probe", routers=[router])


@pytest.fixture
async def redis_backed(
    make_settings: Callable[..., Settings], sqlite_url: str, redis_url: str, redis_server: RedisServer
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient, RedisServer]]:
    settings = make_settings(
        database_url=sqlite_url,
        redis_url=redis_url,
        rate_limit_default="4/minute",
        rate_limit_api_processes=2,
    )
    runtime = await Runtime.start(settings)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime, apps=[probe_app()]))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield runtime, client, redis_server
    finally:
        if redis_server.process is None:
            redis_server.start()  # the session's Redis is shared: leave it running
        await runtime.close()


async def test_routes_follow_their_policy_with_redis_stopped(
    redis_backed: tuple[Runtime, httpx.AsyncClient, RedisServer],
) -> None:
    runtime, client, redis_server = redis_backed
    user = await make_user(runtime)
    headers = auth_headers(runtime, user)
    assert (await client.get("/api/v1/me", headers=headers)).headers["ratelimit-limit"] == "4"

    redis_server.stop()
    # Reads stay available (and unlimited) while the limits cannot be checked.
    reads = [await client.get("/api/v1/me", headers=headers) for _ in range(8)]
    assert [r.status_code for r in reads] == [200] * 8
    assert "ratelimit-limit" not in reads[-1].headers
    # A route may declare itself open explicitly whatever its method.
    assert (await client.post("/probe/read-like", headers=headers)).status_code == 200
    # Writes fall back to this process's share of the limit: 4 ÷ 2 processes = 2.
    writes = [await client.post("/probe/write", headers=headers) for _ in range(3)]
    assert [w.status_code for w in writes] == [200, 200, 429]
    assert writes[0].headers["ratelimit-limit"] == "2"
    assert writes[2].json()["code"] == "rate_limited"
    # Starting a payment spends money: refused outright, with Retry-After, before Stripe is asked.
    paid = await client.post("/api/v1/payment/create-intent", json={"package": "starter"}, headers=headers)
    assert paid.status_code == 503
    assert paid.json()["code"] == "service_unavailable"
    assert paid.headers["retry-after"] == "5"

    redis_server.start()
    await asyncio.sleep(1.1)  # the limiter tries the store again after its one-second pause
    paid = await client.post("/api/v1/payment/create-intent", json={"package": "starter"}, headers=headers)
    # Past the limiter now: Stripe is not configured in this test, which is the next answer.
    assert paid.json()["code"] == "payments_not_configured"


async def test_the_policy_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    create_intent = spec["paths"]["/api/v1/payment/create-intent"]["post"]
    assert create_intent["x-rate-limit-outage"] == "closed"
