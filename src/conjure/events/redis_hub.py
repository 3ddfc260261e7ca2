"""The Redis event hub: one stream per user, read by one shared XREAD BLOCK per process.

Why a stream per user, not pub/sub: a stream is the bus *and* the replay store. XADD gives
each event its id (monotonic per stream, so per user) and ``Last-Event-ID`` is an XRANGE
from it; there is no window between "replayed" and "subscribed" in which an event can fall,
because a reader continues from the id it last saw. Pub/sub would need a second store for
replay and loses what is published while a process reconnects. Each XADD trims the stream
(``MAXLEN ~ count``, approximate so it stays O(1)) and re-arms its expiry (the retention
time), so an idle user's stream disappears; replay applies the count and age exactly.

Why one reader per process: a blocking XREAD holds a connection. One per SSE connection
would cost the Redis server a connection per idle user, so each process runs one reader
task that blocks on the streams of every user it has followers for (one XREAD names many
streams) and fans entries out to them. Following a new user interrupts the blocked read by
writing to the process's own wake stream, which the reader always includes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from conjure.events import keys
from conjure.events.types import (
    EventId,
    Followers,
    NewEvent,
    Retention,
    Subscription,
    UserEvent,
    encode_data,
)

log = structlog.get_logger("conjure.events")
READ_BATCH = 500  # entries per stream per XREAD
RETRY_SECONDS = 1.0  # after a failed XREAD (Redis restarting): the cursors keep what was missed


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _event(user_id: uuid.UUID, entry_id: bytes | str, fields: dict[Any, Any]) -> UserEvent:
    event_id = EventId.parse(entry_id)
    assert event_id is not None  # Redis made it
    get = fields.get
    return UserEvent(
        event_id, user_id, _text(get(b"type", get("type", b""))), _text(get(b"data", get("data", b"{}")))
    )


class RedisUserEventHub:
    """Users' events in Redis streams, shared by every API and worker process."""

    def __init__(self, redis: aioredis.Redis, retention: Retention, *, block_seconds: float = 5.0) -> None:
        self.redis = redis
        self.retention = retention
        self.block_seconds = block_seconds
        self._followers = Followers()
        self._cursors: dict[uuid.UUID, str] = {}  # where the reader continues, per followed user
        self._wake_key = keys.wake_stream(uuid.uuid4().hex)
        self._wake_cursor = "0-0"
        self._reader: asyncio.Task[None] | None = None

    async def publish_many(self, events: Sequence[NewEvent]) -> list[UserEvent]:
        if not events:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            encoded = self.queue_on(pipe, events)
            replies = await pipe.execute()
        published = []
        for i, (user_id, type_, _) in enumerate(events):
            event_id = EventId.parse(replies[2 * i])
            assert event_id is not None
            published.append(UserEvent(event_id, user_id, type_, encoded[i]))
        return published

    def queue_on(self, pipe: Pipeline, events: Sequence[NewEvent]) -> list[str]:
        """Queue the commands that publish ``events`` on a pipeline of this hub's Redis (two per
        event: the XADD, then the stream's expiry); returns each event's encoded data. The
        worker's acknowledgement carries its jobs' owners' events so (one round trip less)."""
        ttl = max(1, math.ceil(self.retention.seconds))
        encoded = []
        for user_id, type_, data in events:
            key = keys.user_stream(user_id)
            text = encode_data(data)
            encoded.append(text)
            pipe.xadd(key, {"type": type_, "data": text}, maxlen=self.retention.count, approximate=True)
            pipe.expire(key, ttl)
        return encoded

    async def replay(self, user_id: uuid.UUID, after: EventId) -> list[UserEvent]:
        # Newest first with COUNT gives the last `count` exactly; the age bound is exact too
        # (trimming is approximate). Ids carry Redis's clock, compared with ours.
        floor = EventId(max(0, int((time.time() - self.retention.seconds) * 1000)), 0)
        low = f"({after}" if after >= floor else str(floor)
        key = keys.user_stream(user_id)
        entries: Any = await self.redis.xrevrange(key, "+", low, count=self.retention.count)
        return [_event(user_id, entry_id, fields) for entry_id, fields in reversed(entries)]

    async def top(self, user_id: uuid.UUID) -> EventId:
        entries: Any = await self.redis.xrevrange(keys.user_stream(user_id), "+", "-", count=1)
        return (EventId.parse(entries[0][0]) or EventId(0, 0)) if entries else EventId(0, 0)

    @asynccontextmanager
    async def subscribe(self, user_id: uuid.UUID, after: EventId | None) -> AsyncIterator[Subscription]:
        top = await self.top(user_id)
        # The follower reads the store first (from `after`, or from now), then takes what the
        # reader offers; the reader starts at `top`, so nothing published since is missed.
        follower = self._followers.follow(user_id, lambda last: self.replay(user_id, last), top, after)
        try:
            if user_id not in self._cursors:
                self._cursors[user_id] = str(top)
                await self._wake()
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(), name="user-events-reader")
            yield follower
        finally:
            if self._followers.leave(user_id, follower):
                self._cursors.pop(user_id, None)  # the reader drops the stream on its next call

    async def _wake(self) -> None:
        if self._reader is None or self._reader.done():
            return  # no read is blocked; the one about to start names every stream
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(self._wake_key, {"w": "1"}, maxlen=1, approximate=False)
            pipe.expire(self._wake_key, 3600)  # a crashed process's wake stream goes away
            await pipe.execute()

    async def _read(self) -> None:
        """The process's one reader: block on the followed users' streams, hand entries out."""
        while self._cursors:
            streams: dict[Any, Any] = {self._wake_key: self._wake_cursor}
            streams.update({keys.user_stream(user): cursor for user, cursor in self._cursors.items()})
            block_ms = int(self.block_seconds * 1000)
            try:
                reply: Any = await self.redis.xread(streams, count=READ_BATCH, block=block_ms)
            except (RedisError, OSError) as exc:
                log.warning("user_events_read_failed", error=str(exc))
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for key, entries in reply or []:
                self._deliver(_text(key), entries)

    def _deliver(self, key: str, entries: list[tuple[Any, dict[Any, Any]]]) -> None:
        if key == self._wake_key:
            self._wake_cursor = _text(entries[-1][0])
            return
        user_id = keys.user_of(key)
        if user_id not in self._cursors:
            return  # its last follower left during the read
        self._cursors[user_id] = _text(entries[-1][0])
        for entry_id, fields in entries:
            self._followers.offer(user_id, _event(user_id, entry_id, fields))

    async def close(self) -> None:
        self._cursors.clear()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        with contextlib.suppress(RedisError, OSError):
            await self.redis.delete(self._wake_key)
