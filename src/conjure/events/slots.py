"""The per-user cap on open SSE streams, counted in Redis so it holds across API processes.

Each open stream holds a *lease*: a member of the user's sorted set whose score is its
expiry in Redis's own clock (so API hosts' clocks do not matter). A process renews the
leases it holds every third of their lifetime, in one pipeline; one that crashes stops
renewing, and its slots free themselves after ``lease_seconds``. Acquiring drops expired
leases and counts the rest in one script, so two processes never both take the last slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from conjure.events import keys
from conjure.redis_scripts import ScriptedPipeline

log = structlog.get_logger("conjure.events")

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""
# KEYS[1] the user's leases; ARGV: limit, lease seconds, lease id. 1 = acquired, 0 = full.
_ACQUIRE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
return 1
"""
)
# KEYS[1] the user's leases; ARGV: lease seconds, lease id. (Re-added if it expired meanwhile:
# the stream is still open, so it still counts.)
_RENEW = (
    _NOW
    + """
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) * 1000))
return 1
"""
)
_HELD = _NOW + "return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')"


class RedisConnectionSlots:
    """Leases in Redis with an expiry; this process renews its own."""

    def __init__(self, redis: aioredis.Redis, limit: int, *, lease_seconds: float) -> None:
        self.redis = redis
        self.limit = limit
        self.lease_seconds = lease_seconds
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._held = redis.register_script(_HELD)
        self._mine: dict[str, uuid.UUID] = {}  # lease -> user, the leases this process renews
        self._renewer: asyncio.Task[None] | None = None

    async def acquire(self, user_id: uuid.UUID) -> str | None:
        lease = uuid.uuid4().hex
        args: list[str | float] = [self.limit, self.lease_seconds, lease]
        if not await self._acquire(keys=[keys.connections(user_id)], args=args):
            return None
        self._mine[lease] = user_id
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_forever(), name="sse-lease-renewer")
        return lease

    async def release(self, user_id: uuid.UUID, lease: str) -> None:
        self._mine.pop(lease, None)
        await self.redis.zrem(keys.connections(user_id), lease)

    async def held(self, user_id: uuid.UUID) -> int:
        return int(await self._held(keys=[keys.connections(user_id)]))

    async def renew(self) -> None:
        """Extend every lease this process holds (one round trip)."""
        if not self._mine:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            scripted = ScriptedPipeline(pipe)
            for lease, user_id in list(self._mine.items()):
                scripted.script(self._renew, [keys.connections(user_id)], [self.lease_seconds, lease])
            await scripted.execute()

    async def _renew_forever(self) -> None:
        while self._mine:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self.renew()
            except (RedisError, OSError) as exc:
                log.warning("sse_lease_renew_failed", error=str(exc))

    async def close(self) -> None:
        """Stop renewing; open streams' leases then expire on their own (or are released as they end)."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
