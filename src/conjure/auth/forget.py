"""Deleted users forgotten by every API process at once, not after their known-users cache time.

A process keeps the ids of users it has seen exist (:class:`conjure.auth.deps.KnownUsers`), so a
signed token costs no query on every request. When an account is deleted, the process that did
it forgets the id at once and announces it on a Redis channel; every API process listens
(started with the app, :func:`listen_for_forgotten`) and forgets it too, so the deleted user's
tokens fail their next request everywhere. A process that was not listening for a while (Redis
down, a reconnect) forgets everything it knew once it listens again: it may have missed an
announcement, and re-checking each user once is cheap. Without Redis (the embedded default) there
is one API process, which forgot at once.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import structlog
from redis.exceptions import RedisError

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from conjure.auth.deps import KnownUsers

log = structlog.get_logger("conjure.auth.forget")
CHANNEL = "conjure:users:forgotten"
RECONNECT_SECONDS = 1.0


async def announce_forgotten(redis: aioredis.Redis | None, user_id: uuid.UUID) -> None:
    """Tell every API process to forget ``user_id`` (best effort: else their cache time bounds it)."""
    if redis is None:
        return
    try:
        await redis.publish(CHANNEL, str(user_id))
    except (RedisError, OSError):
        log.warning("user_forget_not_announced", user_id=str(user_id))


async def listen_for_forgotten(
    redis: aioredis.Redis, known: KnownUsers, *, listening: asyncio.Event | None = None
) -> None:
    """Forget each announced user in ``known`` until canceled; ``listening`` is set once subscribed."""
    while True:
        try:
            async with redis.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                known.clear()  # announcements made while this was not listening are lost
                if listening is not None:
                    listening.set()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        known.forget(uuid.UUID(bytes(message["data"]).decode()))
                    except ValueError:
                        continue
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError):
            log.warning("user_forget_listener_reconnecting")
            await asyncio.sleep(RECONNECT_SECONDS)
