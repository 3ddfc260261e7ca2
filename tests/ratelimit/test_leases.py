"""Counting on Redis off the request path: credit and leases, and the bounds on what they let through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from limits.aio.storage import RedisStorage

from conjure.ratelimit import service
from conjure.ratelimit.service import KEY_PREFIX, Outage, RateLimited, RateLimiter, lease_cap, parse_limits


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.from_url(redis_url)
    yield redis
    await redis.aclose()


def limiter(client: aioredis.Redis) -> tuple[RateLimiter, list[int]]:
    storage = RedisStorage(
        "async+redis://",
        implementation="redispy",
        connection_pool=client.connection_pool,  # type: ignore[arg-type]
        key_prefix=KEY_PREFIX,
    )
    made = RateLimiter(storage, client)
    calls: list[int] = []
    script = made._script
    assert script is not None

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await script(*args, **kwargs)

    made._script = counted  # type: ignore[assignment]
    return made, calls


async def allowed(limiter: RateLimiter, key: str, spec: str, times: int) -> int:
    ok = 0
    for _ in range(times):
        try:
            await limiter.hit("api", key, spec)
            ok += 1
        except RateLimited:
            pass
    return ok


async def counted(client: aioredis.Redis, name: str) -> int:
    """Requests Redis holds in ``name``'s windows."""
    keys = await client.keys(f"{KEY_PREFIX}*{name}*")
    return sum([await client.llen(key) for key in keys])  # type: ignore[misc]


async def test_a_busy_key_costs_a_round_trip_per_lease(client: aioredis.Redis) -> None:
    busy, calls = limiter(client)
    assert await allowed(busy, "alice", "1000/minute", 200) == 200
    await busy.settled()
    # Leases of 2, 4, ... 50 (1000 // 20) and the credit between them: a handful of round trips.
    assert len(calls) <= 16
    # Everything let through is counted; at most one lease more is counted ahead.
    assert 200 <= await counted(client, "alice") <= 200 + lease_cap(parse_limits("1000/minute")[0])


async def test_a_known_key_is_counted_off_the_request_path(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "LEASE_SECONDS", 0.0)  # every lease expired at once: a rare key
    rare, calls = limiter(client)
    await rare.hit("api", "erin", "1000/minute")
    assert len(calls) == 1  # its first request in this process is counted inline
    for _ in range(9):
        await rare.hit("api", "erin", "1000/minute")
        assert len(calls) == 1  # let through on credit: no round trip before the answer
    await rare.settled()
    assert 2 <= len(calls) <= 3  # the nine in one or two background counts
    assert await counted(client, "erin") == 10  # exactly: a rare key is never counted ahead


async def test_the_limit_holds_exactly_in_one_process(client: aioredis.Redis) -> None:
    one, _ = limiter(client)
    assert await allowed(one, "bob", "100/minute", 130) == 100
    with pytest.raises(RateLimited):
        await one.hit("api", "bob", "100/minute")
    await one.settled()
    assert await counted(client, "bob") == 100


async def test_two_processes_pass_the_limit_by_at_most_one_credit(client: aioredis.Redis) -> None:
    first, _ = limiter(client)
    second, _ = limiter(client)
    total = 0
    for _ in range(80):  # interleaved, as a load balancer would spread one client
        total += await allowed(first, "carol", "100/minute", 1)
        total += await allowed(second, "carol", "100/minute", 1)
    cap = lease_cap(parse_limits("100/minute")[0])
    # Each process's view of the window is stale by what the other counted: one credit over at
    # most; tokens the other holds make a client be refused at most a lease per process early.
    assert 100 - 2 * cap <= total <= 100 + cap


async def test_a_key_full_elsewhere_is_refused_locally_after_one_credit(client: aioredis.Redis) -> None:
    here, calls = limiter(client)
    elsewhere, _ = limiter(client)
    await here.hit("api", "fay", "100/minute")  # known here, with 99 left
    assert await allowed(elsewhere, "fay", "100/minute", 120) == 99  # another process fills it
    await elsewhere.settled()
    let_through = await allowed(here, "fay", "100/minute", 50)
    assert let_through <= lease_cap(parse_limits("100/minute")[0])
    await here.settled()
    before = len(calls)
    with pytest.raises(RateLimited) as refused:
        await here.hit("api", "fay", "100/minute")
    assert len(calls) == before  # refused from what Redis answered, no round trip
    assert int(refused.value.headers["Retry-After"]) > 0


async def test_tight_limits_and_closed_routes_are_counted_inline(client: aioredis.Redis) -> None:
    exact, calls = limiter(client)
    assert await allowed(exact, "dave", "6/minute", 8) == 6  # under LEASE_MIN_AMOUNT: never on credit
    assert len(calls) == 8
    calls.clear()
    for _ in range(3):  # a route whose limits fail closed waits for Redis's answer
        await exact.hit("api", "gus", "1000/minute", on_outage=Outage.CLOSED)
    assert len(calls) >= 2
    await exact.settled()
    assert await counted(client, "gus") >= 3
