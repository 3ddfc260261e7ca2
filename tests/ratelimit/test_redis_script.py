"""The one-round-trip Redis path counts exactly like the `limits` library on the same keys."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from limits.aio.storage import RedisStorage

from conjure.ratelimit.service import KEY_PREFIX, RateLimited, RateLimiter


async def test_script_and_library_share_one_moving_window(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    storage = RedisStorage(
        "async+redis://",
        implementation="redispy",
        connection_pool=client.connection_pool,  # type: ignore[arg-type]
        key_prefix=KEY_PREFIX,
    )
    scripted = RateLimiter(storage, client)
    library = RateLimiter(storage)  # the `limits` strategy: two round trips
    try:
        seen = []
        for i in range(6):
            limiter = scripted if i % 2 == 0 else library
            state = await limiter.hit("probe", "alice", "6/minute;100/hour")
            assert state is not None
            seen.append((state.limit, state.remaining))
            assert 1 <= state.reset_after <= 60
        # Each hit, whichever path made it, counted once in the same window.
        assert seen == [(6, 5), (6, 4), (6, 3), (6, 2), (6, 1), (6, 0)]
        for limiter in (scripted, library):
            with pytest.raises(RateLimited) as refused:
                await limiter.hit("probe", "alice", "6/minute;100/hour")
            assert refused.value.headers["RateLimit-Remaining"] == "0"
            assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
        # Another key is untouched; a cost larger than the limit is refused outright.
        other = await scripted.hit("probe", "bob", "6/minute")
        assert other is not None
        assert other.remaining == 5
        with pytest.raises(RateLimited):
            await scripted.hit("probe", "carol", "6/minute", cost=7)
        await scripted.reset()
        assert (await scripted.hit("probe", "alice", "6/minute")).remaining == 5  # type: ignore[union-attr]
    finally:
        await client.aclose()
