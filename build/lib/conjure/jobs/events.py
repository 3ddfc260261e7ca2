"""Live job events between processes: an in-process bus (embedded) and Redis pub/sub (production).

Events are also stored in ``job_events`` (the replay source for Last-Event-ID); the bus
only wakes listeners, so a lost message costs latency, never correctness.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import redis.asyncio as aioredis

from conjure.jobs import keys

Event = dict[str, Any]


def event_message(job_id: uuid.UUID, seq: int, type_: str, data: dict[str, Any]) -> Event:
    """The one shape of an event, stored, published and sent over SSE."""
    return {"job_id": str(job_id), "seq": seq, "type": type_, **data}


class Subscription(Protocol):
    """Events of one job as they are published."""

    async def get(self, timeout: float) -> Event | None:
        """The next event, or None when ``timeout`` seconds pass without one."""


class EventBus(Protocol):
    """Publish a job's events; subscribe to one job's events."""

    async def publish(self, job_id: uuid.UUID, event: Event) -> None: ...

    async def publish_many(self, events: Sequence[tuple[uuid.UUID, Event]]) -> None: ...

    def subscribe(self, job_id: uuid.UUID) -> Any:
        """An async context manager yielding a :class:`Subscription`."""


class _QueueSubscription:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=1000)

    async def get(self, timeout: float) -> Event | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class InProcessEventBus:
    """Fan-out to listeners in this process (the embedded default)."""

    def __init__(self) -> None:
        self._listeners: dict[uuid.UUID, set[_QueueSubscription]] = {}

    async def publish(self, job_id: uuid.UUID, event: Event) -> None:
        for sub in self._listeners.get(job_id, ()):
            if not sub.queue.full():  # a stuck listener replays from the table instead
                sub.queue.put_nowait(event)

    async def publish_many(self, events: Sequence[tuple[uuid.UUID, Event]]) -> None:
        for job_id, event in events:
            await self.publish(job_id, event)

    @asynccontextmanager
    async def subscribe(self, job_id: uuid.UUID) -> AsyncIterator[Subscription]:
        sub = _QueueSubscription()
        self._listeners.setdefault(job_id, set()).add(sub)
        try:
            yield sub
        finally:
            listeners = self._listeners.get(job_id, set())
            listeners.discard(sub)
            if not listeners:
                self._listeners.pop(job_id, None)


class _PubSubSubscription:
    def __init__(self, pubsub: Any) -> None:
        self.pubsub = pubsub

    async def get(self, timeout: float) -> Event | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            # Subscribe confirmations come through here too; skip them, keep waiting.
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if message is not None and message.get("type") == "message":
                event: Event = json.loads(message["data"])
                return event
        return None


class RedisEventBus:
    """Redis pub/sub, one channel per job, so any API process can stream any worker's events."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def publish(self, job_id: uuid.UUID, event: Event) -> None:
        await self.redis.publish(keys.events_channel(job_id), json.dumps(event, default=str))

    async def publish_many(self, events: Sequence[tuple[uuid.UUID, Event]]) -> None:
        if not events:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id, event in events:
                pipe.publish(keys.events_channel(job_id), json.dumps(event, default=str))
            await pipe.execute()

    @asynccontextmanager
    async def subscribe(self, job_id: uuid.UUID) -> AsyncIterator[Subscription]:
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(keys.events_channel(job_id))
        try:
            yield _PubSubSubscription(pubsub)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
