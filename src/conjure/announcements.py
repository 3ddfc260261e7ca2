"""Announcements: one process tells every process to drop what it cached about a user, at once.

A process caches some facts per user so that a hot request costs no query: that a user exists
(:class:`conjure.auth.deps.KnownUsers`), a user's plan limits (:class:`conjure.billing.plans.PlanCache`).
When such a fact changes (an account deleted; a subscription started, changed or ended, often in
a worker applying a Stripe event), the process that changed it forgets the user in its own caches
and, once the change committed, announces the user's id on the fact's Redis channel; every API and
worker process listens (:func:`listen`) and forgets it too. A process that was not listening for a
while (Redis down, a reconnect) clears those caches once it listens again: it may have missed an
announcement, and reading each user once more is cheap. Without Redis (the embedded default) there
is one process, which forgot at once; each cache's own time bounds a lost announcement.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import structlog
from redis.exceptions import RedisError

from conjure.db import after_commit

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger("conjure.announcements")
# One channel per cached fact; the message is the user's id.
USERS_FORGOTTEN = "conjure:users:forgotten"  # the account was deleted
PLANS_CHANGED = "conjure:plans:changed"  # the user's subscription (so plan limits) changed
RECONNECT_SECONDS = 1.0


class UserCache(Protocol):
    """A per-user cache an announcement drops entries of."""

    def forget(self, user_id: uuid.UUID) -> None: ...

    def clear(self) -> None: ...


class Announcer:
    """Announces changes on behalf of one process: its own caches forget at once, the others when
    they hear of it (best effort: a lost announcement is bounded by the caches' own times)."""

    def __init__(self, redis: aioredis.Redis | None) -> None:
        self.redis = redis
        self._local: dict[str, list[UserCache]] = {}

    def register(self, channel: str, cache: UserCache) -> None:
        """``cache`` (this process's) forgets the users announced on ``channel`` here."""
        self._local.setdefault(channel, []).append(cache)

    async def announce(self, channel: str, user_id: uuid.UUID) -> None:
        """Forget ``user_id`` in this process's caches of ``channel`` and tell every other process."""
        for cache in self._local.get(channel, ()):
            cache.forget(user_id)
        if self.redis is None:
            return
        try:
            await self.redis.publish(channel, str(user_id))
        except (RedisError, OSError):
            log.warning("announcement_lost", channel=channel, user_id=str(user_id))

    def after_commit(self, session: AsyncSession, channel: str, user_id: uuid.UUID) -> None:
        """:meth:`announce` once ``session``'s transaction commits (nothing on a rollback)."""

        async def announce() -> None:
            await self.announce(channel, user_id)

        after_commit(session, announce)


async def listen(
    redis: aioredis.Redis, caches: Mapping[str, UserCache], *, listening: asyncio.Event | None = None
) -> None:
    """Forget each user announced on a channel of ``caches`` in its cache, until canceled;
    ``listening`` is set once subscribed."""
    while True:
        try:
            async with redis.pubsub() as pubsub:
                await pubsub.subscribe(*caches)
                for cache in caches.values():
                    cache.clear()  # announcements made while this was not listening are lost
                if listening is not None:
                    listening.set()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    heard = caches.get(bytes(message["channel"]).decode())
                    try:
                        user_id = uuid.UUID(bytes(message["data"]).decode())
                    except ValueError:
                        continue
                    if heard is not None:
                        heard.forget(user_id)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError):
            log.warning("announcement_listener_reconnecting")
            await asyncio.sleep(RECONNECT_SECONDS)
