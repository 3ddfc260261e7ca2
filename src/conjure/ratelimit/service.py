"""Rate limits on the `limits` library: moving windows in memory (embedded) or in Redis (shared).

Every limit is a ``limits`` string from settings ("100/minute", "5/minute;100/hour")
applied to one *scope* (``default``, ``generation``, ``login-ip``…) and one *key*
(a principal or an IP). With Redis the counters are shared by every API process.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

import redis.asyncio as aioredis
import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from conjure.errors import ConjureError
from conjure.observability.metrics import RATE_LIMITED
from conjure.settings import Settings

log = structlog.get_logger("conjure.ratelimit")
KEY_PREFIX = "conjure:rl"


class RateLimited(ConjureError):
    """429 with ``Retry-After`` and the RateLimit headers."""

    code, status = "rate_limited", 429


@dataclass(frozen=True)
class LimitState:
    """What a client may know about the tightest limit that applied to its request."""

    limit: int
    remaining: int
    reset_after: int  # seconds until a slot frees up

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(self.reset_after),
        }


@lru_cache(maxsize=256)
def parse_limits(spec: str) -> tuple[RateLimitItem, ...]:
    """Parse a settings string once ("100/minute" or several joined by ';')."""
    return tuple(parse_many(spec))


class RateLimiter:
    """Moving-window limits over one storage; fails open (logs) when the storage is down."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage)

    async def hit(self, scope: str, key: str, spec: str, *, cost: int = 1) -> LimitState | None:
        """Count one request against every limit in ``spec``; raise :class:`RateLimited` when over.

        Returns the state of the tightest limit (for the response headers), or ``None``
        when ``spec`` is empty (no limit) or the storage could not be reached.
        """
        items = parse_limits(spec) if spec else ()
        tightest: LimitState | None = None
        for item in items:
            try:
                allowed = await self.strategy.hit(item, KEY_PREFIX, scope, key, cost=cost)
                stats = await self.strategy.get_window_stats(item, KEY_PREFIX, scope, key)
            except Exception as exc:
                # Availability beats limiting: a Redis outage must not take the API down.
                log.warning("rate_limit_storage_failed", scope=scope, error_type=type(exc).__name__)
                return None
            reset_after = max(1, math.ceil(stats.reset_time - time.time()))
            state = LimitState(limit=item.amount, remaining=stats.remaining, reset_after=reset_after)
            if not allowed:
                RATE_LIMITED.labels(scope).inc()
                raise RateLimited(
                    f"Too many requests; try again in {reset_after} s.",
                    headers={"Retry-After": str(reset_after), **state.headers()},
                    extra={"scope": scope},
                )
            if tightest is None or state.remaining < tightest.remaining:
                tightest = state
        return tightest

    async def reset(self) -> None:
        """Forget every counter (tests and operators)."""
        await self.storage.reset()


def make_limiter(settings: Settings, redis: aioredis.Redis | None) -> RateLimiter:
    """Redis storage sharing the runtime's connection pool when Redis is configured, else memory."""
    if redis is not None:
        storage: Storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # passed through to redis-py
            key_prefix=KEY_PREFIX,
        )
    else:
        storage = MemoryStorage()
    return RateLimiter(storage)
