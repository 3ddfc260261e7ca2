"""Which event hub and connection slots a runtime gets: Redis when ``REDIS_URL`` is set, else in-process."""

from __future__ import annotations

import redis.asyncio as aioredis

from conjure.events.memory import InProcessConnectionSlots, InProcessUserEventHub
from conjure.events.redis_hub import RedisUserEventHub
from conjure.events.slots import RedisConnectionSlots
from conjure.events.types import ConnectionSlots, Retention, UserEventHub
from conjure.settings import Settings


def make_user_event_hub(settings: Settings, redis: aioredis.Redis | None) -> UserEventHub:
    """The hub; it starts its reader on first subscribe, so workers (which only publish) hold no reader."""
    retention = Retention(settings.user_events_retain_count, settings.user_events_retain_seconds)
    return InProcessUserEventHub(retention) if redis is None else RedisUserEventHub(redis, retention)


def make_connection_slots(settings: Settings, redis: aioredis.Redis | None) -> ConnectionSlots:
    limit = settings.sse_max_connections_per_user
    if redis is None:
        return InProcessConnectionSlots(limit)
    return RedisConnectionSlots(redis, limit, lease_seconds=settings.sse_lease_seconds)
