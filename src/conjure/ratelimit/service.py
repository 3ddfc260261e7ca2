"""Rate limits on the `limits` library: moving windows in memory (embedded) or in Redis (shared).

Every limit is a ``limits`` string from settings ("100/minute", "5/minute;100/hour")
applied to one *scope* (``default``, ``generation``, ``login-ip``…) and one *key*
(a person or an IP). With Redis the counters are shared by every API process.

With Redis, a key this process has counted before costs the request no round trip: it is let
through on *credit* (or from a *lease*, requests counted ahead) and counted in Redis in the
background, one script call per key for everything let through meanwhile (:class:`Lease`). Only a
key's first request in a process, and any request near its limit, is counted inline, exactly. A
busy key (seen again while its lease lives, ``LEASE_SECONDS``) is counted ahead in leases that
double up to ``amount // LEASE_DIVISOR`` (at most ``LEASE_MAX``; 5 for 100/minute), and the next
lease is fetched in the background once half of the current one is handed out.

Worst case. In one process the limit holds exactly: credit is given only while the key's
``remaining`` as Redis last answered covers every request let through since (and the window only
frees slots as it moves). With several processes, each one's ``remaining`` may be stale by what
the others counted during one round trip, so per window a key may pass its limit by at most one
credit (as many requests as the lease cap, 5 for 100/minute) per *other* API process; a key Redis refuses
is then refused locally until its window frees a slot. Leased requests are timed at the lease, up
to ``2 × LEASE_SECONDS`` early (a lease is fetched before the last one is used up), so over a true
sliding window a key may also pass its limit by about one lease per process, and tokens another
process holds unused make a client be refused a few requests early. Limits under
``LEASE_MIN_AMOUNT`` (5 generations a minute, logins) are always counted
inline, exactly, one round trip per request. A request let through on credit whose background
count then fails (Redis went down in between) stays uncounted; routes whose limits fail closed
(``Outage.CLOSED``) never take credit.

When the shared store cannot be reached, what happens is the route's :class:`Outage`
policy (``conjure.ratelimit.policy`` picks it per route): reads stay available (``open``),
writes fall back to a per-process share of the limit in memory (``local``), and routes that
spend money answer 503 ``service_unavailable`` with ``Retry-After`` (``closed``).
"""

from __future__ import annotations

import asyncio
import enum
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

import redis.asyncio as aioredis
import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from conjure.errors import ConjureError, TemporarilyUnavailable
from conjure.observability.metrics import RATE_LIMIT_OUTAGES, RATE_LIMITED
from conjure.settings import Settings

log = structlog.get_logger("conjure.ratelimit")
KEY_PREFIX = "conjure:rl"


class RateLimited(ConjureError):
    """429 with ``Retry-After`` and the RateLimit headers."""

    code, status = "rate_limited", 429


class RateLimitsUnavailable(TemporarilyUnavailable):
    """503 with ``Retry-After``: the shared limit store is down and this route must not run unlimited."""


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
LEASES_KEPT = 10_000  # keys remembered per process (then the first half remembered is dropped)


@dataclass
class Lease:
    """What this process knows of one key's window, and what it let through that Redis has not
    counted yet."""

    size: int  # how many the last lease counted ahead (doubles while a key is busy; 0: none)
    tokens: int  # counted ahead and not handed out yet
    until: float  # monotonic time the tokens may be handed out until
    reset_time: float  # the window's reset as Redis answered
    remaining: int  # the window's remaining as Redis answered (leased tokens counted)
    debt: int = 0  # let through on credit, not counted in Redis yet
    blocked_until: float = 0.0  # wall time: Redis refused the key; refused locally until then
    counting: asyncio.Task[None] | None = field(default=None, repr=False)  # the background count


def lease_cap(item: RateLimitItem) -> int:
    """The largest lease of a limit (1: always counted exactly)."""
    return max(1, min(LEASE_MAX, item.amount // LEASE_DIVISOR)) if item.amount >= LEASE_MIN_AMOUNT else 1


def lease_size(item: RateLimitItem, last: Lease | None, now: float) -> int:
    """How many requests to count ahead for this key: none until the key proves busy (seen again
    while its last lease lives), then doubling up to the limit's lease cap."""
    if last is None or last.until <= now:
        return 0
    # Never more than a quarter of what the window has left: near the limit leases shrink to one
    # request, so a process holding unused tokens cannot make another refuse early by much.
    return max(1, min(lease_cap(item), max(1, last.size) * 2, last.remaining // LEASE_SHARE))


def credit_room(item: RateLimitItem, lease: Lease, cost: int) -> bool:
    """Whether ``cost`` more may go through before Redis counts them: at most a lease cap of
    uncounted requests, all within what Redis last said the window has left."""
    owed = lease.debt + cost
    return owed <= lease_cap(item) and owed <= lease.remaining


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

    async def _hit(
        self, item: RateLimitItem, scope: str, key: str, cost: int, *, credit: bool = True
    ) -> tuple[bool, float, int]:
        """(allowed, reset time, remaining) of one limit after counting ``cost``."""
        if self._script is None:
            return await self._hit_with(self.strategy, item, scope, key, cost)
        redis_key = f"{KEY_PREFIX}:{item.key_for(KEY_PREFIX, scope, key)}"
        lease = self._leases.get(redis_key)
        if lease is not None and lease_cap(item) > 1:
            if lease.blocked_until > time.time():
                return False, lease.blocked_until, 0
            now = time.monotonic()
            if lease.until > now and lease.tokens >= cost:
                lease.tokens -= cost  # counted already: no round trip
                if 2 * lease.tokens < lease.size:  # half handed out: fetch the next lease meanwhile
                    self._count_later(item, redis_key, lease)
                return True, lease.reset_time, lease.remaining + lease.tokens - lease.debt
            if credit and credit_room(item, lease, cost):
                lease.debt += cost  # let through now, counted in the background
                self._count_later(item, redis_key, lease)
                return True, lease.reset_time, lease.remaining + lease.tokens - lease.debt
            if lease.counting is not None:
                # A count is already under way: its answer (no extra round trip) may leave room.
                await asyncio.shield(lease.counting)
                if lease.blocked_until > time.time():
                    return False, lease.blocked_until, 0
                if time.monotonic() < lease.until and lease.tokens >= cost:
                    lease.tokens -= cost
                    return True, lease.reset_time, lease.remaining + lease.tokens - lease.debt
        return await self._hit_inline(item, redis_key, lease, cost)

    async def _hit_inline(
        self, item: RateLimitItem, redis_key: str, lease: Lease | None, cost: int
    ) -> tuple[bool, float, int]:
        """Count this request (and a lease when the key is busy) in one round trip, exactly."""
        now = time.monotonic()
        size = lease_size(item, lease, now)
        allowed, reset_time, remaining = await self._count(item, redis_key, size + cost)
        if not allowed and size:  # no room for a whole lease: count just this request
            size = 0
            allowed, reset_time, remaining = await self._count(item, redis_key, cost)
        if lease_cap(item) > 1:  # a limit that can be leased: remember the key
            lease = self._remember(redis_key, lease)
            lease.reset_time, lease.remaining = reset_time, remaining
            lease.size, lease.tokens = (size, size) if allowed else (0, 0)
            lease.until = now + LEASE_SECONDS
        return allowed, reset_time, remaining + (size if allowed else 0)

    def _remember(self, redis_key: str, lease: Lease | None) -> Lease:
        if lease is None:
            if len(self._leases) >= LEASES_KEPT:
                # Drop the older half (dicts keep insertion order); keys with a count under way stay.
                for old in list(self._leases)[: LEASES_KEPT // 2]:
                    if self._leases[old].counting is None:
                        del self._leases[old]
            lease = self._leases[redis_key] = Lease(0, 0, 0.0, 0.0, 0)
        return lease

    def _count_later(self, item: RateLimitItem, redis_key: str, lease: Lease) -> None:
        """Start the key's background count unless one is under way (it picks up new debt too)."""
        if lease.counting is None:
            lease.counting = asyncio.get_running_loop().create_task(self._count_owed(item, redis_key, lease))

    async def _count_owed(self, item: RateLimitItem, redis_key: str, lease: Lease) -> None:
        """Count in Redis what was let through on credit, and the next lease when the key is busy;
        a key Redis refuses is refused locally until its window frees a slot."""
        try:
            while True:
                owed, size = lease.debt, lease_size(item, lease, time.monotonic())
                if not owed and not size:
                    return
                allowed, reset_time, remaining = await self._count(item, redis_key, owed + size)
                if not allowed and size and owed:  # no room for a lease: count what went through
                    size = 0
                    allowed, reset_time, remaining = await self._count(item, redis_key, owed)
                lease.debt -= owed
                lease.reset_time, lease.remaining = reset_time, remaining
                now = time.monotonic()
                if allowed:
                    if lease.until <= now:
                        lease.tokens = 0  # counted too long ago to hand out now
                    if size:
                        lease.tokens, lease.size = lease.tokens + size, size
                    # Seen again within a lease's life: the next count may lease (a busy key).
                    lease.until = now + LEASE_SECONDS
                elif owed:
                    lease.blocked_until = reset_time  # full: the requests on credit were the overshoot
                if not lease.debt:
                    return
        except Exception as exc:
            # Redis is down: what went through on credit stays uncounted; requests now follow
            # their route's outage policy.
            lease.debt = 0
            self._store_down_until = time.monotonic() + self.retry_store_after
            log.warning("rate_limit_storage_failed", scope="background", error_type=type(exc).__name__)
        finally:
            lease.counting = None

    async def settled(self) -> None:
        """Wait for every background count (tests; shutdown)."""
        while pending := [lease.counting for lease in self._leases.values() if lease.counting is not None]:
            await asyncio.gather(*pending, return_exceptions=True)

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
        self, item: RateLimitItem, scope: str, key: str, cost: int, *, credit: bool = True
    ) -> tuple[bool, float, int] | None:
        """The shared store's answer, or None while it is down."""
        if time.monotonic() < self._store_down_until:
            return None
        try:
            return await self._hit(item, scope, key, cost, credit=credit)
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
            # A route that must not run unlimited while Redis is down waits for Redis's answer.
            credit = on_outage is not Outage.CLOSED
            result = await self._hit_shared(item, scope, key, cost, credit=credit)
            if result is None:
                RATE_LIMIT_OUTAGES.labels(scope, str(on_outage)).inc()
                if on_outage is Outage.OPEN:
                    return None
                if on_outage is Outage.CLOSED:
                    raise RateLimitsUnavailable(
                        "This action is paused for a moment while rate limits cannot be checked; "
                        f"try again in {self.retry_after_seconds} s.",
                        retry_after=self.retry_after_seconds,
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
        await self.settled()
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
