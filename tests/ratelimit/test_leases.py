"""Leased counting on Redis: a busy key costs a round trip per lease, the limit still holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from limits.aio.storage import RedisStorage

from conjure.ratelimit import service
from conjure.ratelimit.service import KEY_PREFIX, RateLimited, RateLimiter, lease_cap, parse_limits


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


async def test_a_busy_key_costs_a_round_trip_per_lease(client: aioredis.Redis) -> None:
    busy, calls = limiter(client)
    assert await allowed(busy, "alice", "1000/minute", 200) == 200
    # Leases of 1, 2, 4, ... 50 (1000 // 20): a handful of round trips, not 200.
    assert len(calls) <= 12
    counted = sum(
        [await client.llen(key) for key in await client.keys(f"{KEY_PREFIX}*alice*")]  # type: ignore[misc]
    )
    assert 200 <= counted <= 200 + lease_cap(parse_limits("1000/minute")[0])


async def test_the_limit_holds_exactly_in_one_process(client: aioredis.Redis) -> None:
    one, _ = limiter(client)
    assert await allowed(one, "bob", "100/minute", 130) == 100
    with pytest.raises(RateLimited):
        await one.hit("api", "bob", "100/minute")


async def test_two_processes_never_hand_out_more_than_the_limit(client: aioredis.Redis) -> None:
    first, _ = limiter(client)
    second, _ = limiter(client)
    total = 0
    for _ in range(80):  # interleaved, as a load balancer would spread one client
        total += await allowed(first, "carol", "100/minute", 1)
        total += await allowed(second, "carol", "100/minute", 1)
    cap = lease_cap(parse_limits("100/minute")[0])
    # Tokens are counted when leased: never more than the limit; at most a lease per process early.
    assert 100 - 2 * cap <= total <= 100


async def test_rare_keys_and_tight_limits_are_counted_exactly(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact, calls = limiter(client)
    assert await allowed(exact, "dave", "6/minute", 8) == 6  # under LEASE_MIN_AMOUNT: never leased
    assert len(calls) == 8
    monkeypatch.setattr(service, "LEASE_SECONDS", 0.0)  # every lease expired at once: a rare key
    calls.clear()
    assert await allowed(exact, "erin", "1000/minute", 10) == 10
    assert len(calls) == 10
    [key] = await client.keys(f"{KEY_PREFIX}*erin*")
    assert await client.llen(key) == 10  # type: ignore[misc]
