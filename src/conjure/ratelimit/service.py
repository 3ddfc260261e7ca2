"""Rate limiter (placeholder until the identity issue lands)."""

from __future__ import annotations

import redis.asyncio as aioredis

from conjure.settings import Settings


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings


def make_limiter(settings: Settings, redis: aioredis.Redis | None) -> RateLimiter:
    return RateLimiter(settings)
