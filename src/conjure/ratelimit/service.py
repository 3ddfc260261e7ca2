"""Rate limits on the `limits` library: moving windows in memory (embedded) or in Redis (shared).

Every limit is a ``limits`` string from settings ("100/minute", "5/minute;100/hour")
applied to one *scope* (``default``, ``generation``, ``login-ip``…) and one *key*
(a person or an IP). With Redis the counters are shared by every API process.

With Redis, a key that a process sees many requests for (more than one a second) is counted in
*leases*: one round trip counts the next few requests at once and this process hands them out
locally for up to ``LEASE_SECONDS``, so a busy key costs a round trip per lease, not per request
(:class:`Lease`). A key seen rarely is counted exactly, one round trip per request, as before.
Worst case: tokens are counted when leased, so no more requests than the limit are ever handed
out per window as Redis counts it; but a lease's requests are timed at the lease, up to
``LEASE_SECONDS`` early, so over any true sliding window a key may pass its limit by at most one
lease (``amount // LEASE_DIVISOR``, at most ``LEASE_MAX``: 5 for 100/minute) per API process.
A lease takes at most a quarter of what the window has left, so near the limit counting is
exact again and tokens another process holds unused make a client be refused at most a few
requests early. Limits under ``LEASE_MIN_AMOUNT`` (5 generations a minute, logins) are never leased.

When the shared store cannot be reached, what happens is the route's :class:`Outage`
policy (``conjure.ratelimit.policy`` picks it per route): reads stay available (``open``),
writes fall back to a per-process share of the limit in memory (``local``), and routes that
spend money answer 503 ``service_unavailable`` with ``Retry-After`` (``closed``).
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass
from functools import lru_cache

import redis.asyncio as aioredis
import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from conjure.errors import ConjureError, ServiceUnavailable
from conjure.observability.metrics import RATE_LIMIT_OUTAGES, RATE_LIMITED
from conjure.settings import Settings

log = structlog.get_logger("conjure.ratelimit")
KEY_PREFIX = "conjure:rl"


class RateLimited(ConjureError):
    """429 with ``Retry-After`` and the RateLimit headers."""

    code, status = "rate_limited", 429


class RateLimitsUnavailable(ServiceUnavailable):
    """503 with ``Retry-After``: the shared limit store is down and this route must not run unlimited."""

    code = "service_unavailable"


class Outage(enum.StrEnum):
    """What a limit does while its shared store (Redis) is unreachable."""

    OPEN = "open"  # let the request through (reads: availability beats limiting)
    LOCAL = "local"  # count it in this process's memory against its share of the limit
    CLOSED = "closed"  # refuse it: 503 service_unavailable + Retry-After (money, paid models)


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


# The `limits` moving window's acquire and its window stats in ONE script (one round trip
# instead of two per request): the same list per key, the same Lua steps as the library's
# acquire_moving_window.lua and moving_window.lua, so counters stay compatible with it.
_HIT_AND_STATS = """
local timestamp = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local expiry = tonumber(ARGV[3])
local amount = tonumber(ARGV[4])
local allowed = 0
if amount <= limit then
    local entry = redis.call('lindex', KEYS[1], limit - amount)
    if not (entry and tonumber(entry) >= timestamp - expiry) then
        for i = 1, amount do
            redis.call('lpush', KEYS[1], timestamp)
        end
        redis.call('ltrim', KEYS[1], 0, limit - 1)
        redis.call('expire', KEYS[1], expiry)
        allowed = 1
    end
end
local target = timestamp - expiry
local low, high, found = 0, limit - 1, nil
while low <= high do
    local mid = math.floor((low + high) / 2)
    local val = tonumber(redis.call('lindex', KEYS[1], mid))
    if val and val >= target then
        found = mid
        low = mid + 1
    else
        high = mid - 1
    end
end
if found then
    return {allowed, tostring(redis.call('lindex', KEYS[1], found)), found + 1}
end
return {allowed, tostring(timestamp), 0}
"""


LEASE_SECONDS = 1.0  # how long a process may hand out leased tokens
LEASE_DIVISOR = 20  # a lease is at most this fraction of the limit...
LEASE_MAX = 64  # ...and at most this many requests
LEASE_MIN_AMOUNT = 100  # limits below this are always counted exactly
LEASE_SHARE = 4  # a lease takes at most this fraction (1/LEASE_SHARE) of what the window has left
LEASES_KEPT = 10_000  # leases remembered per process before expired ones are dropped


@dataclass
class Lease:
    """Requests of one key already counted in Redis, for this process to hand out."""

    size: int  # how many the last lease counted (doubles while a key is busy)
    tokens: int  # counted and not handed out yet
    until: float  # monotonic time the tokens may be handed out until
    reset_time: float  # the window's reset as Redis answered
    remaining: int  # the window's remaining as Redis answered (leased tokens counted)


def lease_cap(item: RateLimitItem) -> int:
    """The largest lease of a limit (1: always counted exactly)."""
    return max(1, min(LEASE_MAX, item.amount // LEASE_DIVISOR)) if item.amount >= LEASE_MIN_AMOUNT else 1


def lease_size(item: RateLimitItem, last: Lease | None, now: float) -> int:
    """How many requests to count in the next round trip for this key: one until the key proves
    busy (its last lease used up before it expired), then doubling up to the limit's lease cap."""
    if last is None or last.until <= now:
        return 1
    # Never more than a quarter of what the window has left: near the limit leases shrink to one
    # request, so a process holding unused tokens cannot make another refuse early by much.
    return max(1, min(lease_cap(item), last.size * 2, last.remaining // LEASE_SHARE))


def local_share(item: RateLimitItem, processes: int) -> RateLimitItem:
    """One process's share of a shared limit: ``amount ÷ processes`` (at least 1), same window."""
    amount = max(1, item.amount // max(1, processes))
    return type(item)(amount, item.multiples, item.namespace)


class RateLimiter:
    """Moving-window limits over one storage, with an outage policy per call.

    With ``redis`` (the client behind a ``RedisStorage``) each limit costs one round trip.
    After the store fails once it is not tried again for ``retry_store_after`` seconds, so an
    outage costs each request a memory lookup, not a connection attempt.
    """

    def __init__(
        self,
        storage: Storage,
        redis: aioredis.Redis | None = None,
        *,
        processes: int = 1,
        retry_after_seconds: int = 5,
        retry_store_after: float = 1.0,
    ) -> None:
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage)
        self.redis = redis
        self._script = redis.register_script(_HIT_AND_STATS) if redis is not None else None
        self.processes = processes
        self.retry_after_seconds = retry_after_seconds
        self.retry_store_after = retry_store_after
        self._store_down_until = float("-inf")
        self._leases: dict[str, Lease] = {}
        # The per-process fallback for Outage.LOCAL (never used when the storage is memory).
        self._local = MovingWindowRateLimiter(MemoryStorage())

    async def _hit(self, item: RateLimitItem, scope: str, key: str, cost: int) -> tuple[bool, float, int]:
        """(allowed, reset time, remaining) of one limit after counting ``cost``."""
        if self._script is None:
            return await self._hit_with(self.strategy, item, scope, key, cost)
        redis_key = f"{KEY_PREFIX}:{item.key_for(KEY_PREFIX, scope, key)}"
        now = time.monotonic()
        lease = self._leases.get(redis_key)
        if lease is not None and lease.until > now and lease.tokens >= cost:
            lease.tokens -= cost  # counted already: no round trip
            return True, lease.reset_time, lease.remaining + lease.tokens
        size = max(lease_size(item, lease, now), cost)
        allowed, reset_time, remaining = await self._count(item, redis_key, size)
        if not allowed and size > cost:  # no room for a whole lease: count just this request
            size = cost
            allowed, reset_time, remaining = await self._count(item, redis_key, cost)
        left = size - cost if allowed else 0
        if lease_cap(item) > 1:  # a limit that can be leased: remember how busy the key is
            if len(self._leases) >= LEASES_KEPT:
                self._leases = {k: v for k, v in self._leases.items() if v.until > now}
            grown = size if allowed else 1
            self._leases[redis_key] = Lease(grown, left, now + LEASE_SECONDS, reset_time, remaining)
        return allowed, reset_time, remaining + left

    async def _count(self, item: RateLimitItem, redis_key: str, amount: int) -> tuple[bool, float, int]:
        """Count ``amount`` requests in one round trip: (allowed, reset time, remaining)."""
        assert self._script is not None
        expiry = item.get_expiry()
        allowed_flag, oldest, count = await self._script(
            keys=[redis_key], args=[time.time(), item.amount, expiry, amount]
        )
        return bool(allowed_flag), float(oldest) + expiry, item.amount - int(count)

    @staticmethod
    async def _hit_with(
        strategy: MovingWindowRateLimiter, item: RateLimitItem, scope: str, key: str, cost: int
    ) -> tuple[bool, float, int]:
        allowed = await strategy.hit(item, KEY_PREFIX, scope, key, cost=cost)
        stats = await strategy.get_window_stats(item, KEY_PREFIX, scope, key)
        return allowed, stats.reset_time, stats.remaining

    async def _hit_shared(
        self, item: RateLimitItem, scope: str, key: str, cost: int
    ) -> tuple[bool, float, int] | None:
        """The shared store's answer, or None while it is down."""
        if time.monotonic() < self._store_down_until:
            return None
        try:
            return await self._hit(item, scope, key, cost)
        except Exception as exc:
            self._store_down_until = time.monotonic() + self.retry_store_after
            log.warning("rate_limit_storage_failed", scope=scope, error_type=type(exc).__name__)
            return None

    async def hit(
        self, scope: str, key: str, spec: str, *, cost: int = 1, on_outage: Outage = Outage.LOCAL
    ) -> LimitState | None:
        """Count one request against every limit in ``spec``; raise :class:`RateLimited` when over.

        Returns the state of the tightest limit (for the response headers), or ``None``
        when ``spec`` is empty (no limit) or the store is down and ``on_outage`` is ``open``.
        A caller that names no policy gets ``local``: never unlimited by omission.
        """
        items = parse_limits(spec) if spec else ()
        tightest: LimitState | None = None
        for item in items:
            applied = item
            result = await self._hit_shared(item, scope, key, cost)
            if result is None:
                RATE_LIMIT_OUTAGES.labels(scope, str(on_outage)).inc()
                if on_outage is Outage.OPEN:
                    return None
                if on_outage is Outage.CLOSED:
                    raise RateLimitsUnavailable(
                        "This action is paused for a moment while rate limits cannot be checked; "
                        f"try again in {self.retry_after_seconds} s.",
                        headers={"Retry-After": str(self.retry_after_seconds)},
                    )
                applied = local_share(item, self.processes)
                result = await self._hit_with(self._local, applied, scope, key, cost)
            allowed, reset_time, remaining = result
            reset_after = max(1, math.ceil(reset_time - time.time()))
            state = LimitState(limit=applied.amount, remaining=remaining, reset_after=reset_after)
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
        await self._local.storage.reset()
        self._leases.clear()


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
    return RateLimiter(
        storage,
        redis,
        processes=settings.rate_limit_api_processes,
        retry_after_seconds=settings.rate_limit_outage_retry_after_seconds,
    )
