"""The in-process event hub and connection slots: the embedded default (no ``REDIS_URL``).

Publisher and followers share one process (``conjure up`` runs the API and the worker
together), so a per-user ring buffer is the store and the followers' queues are the bus.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from conjure.events.types import (
    EventId,
    Followers,
    NewEvent,
    Retention,
    Subscription,
    UserEvent,
    encode_data,
)

# Every this many publishes, users whose retained events all aged out are forgotten.
SWEEP_EVERY = 1000


class InProcessUserEventHub:
    """Per-user ring buffers (bounded by count, trimmed by age) and the followers of each user."""

    def __init__(self, retention: Retention) -> None:
        self.retention = retention
        self._streams: dict[uuid.UUID, deque[tuple[float, UserEvent]]] = {}
        self._followers = Followers()
        self._last = EventId(0, 0)
        self._published = 0

    def _next_id(self) -> EventId:
        # Redis's rule for stream ids: wall-clock milliseconds, a sequence within the same ms.
        ms = int(time.time() * 1000)
        self._last = EventId(ms, 0) if ms > self._last.ms else EventId(self._last.ms, self._last.seq + 1)
        return self._last

    async def publish_many(self, events: Sequence[NewEvent]) -> list[UserEvent]:
        published = []
        now = time.monotonic()
        for user_id, type_, data in events:
            event = UserEvent(self._next_id(), user_id, type_, encode_data(data))
            stream = self._streams.get(user_id)
            if stream is None:
                stream = self._streams[user_id] = deque(maxlen=self.retention.count)
            stream.append((now, event))
            self._followers.offer(user_id, event)
            published.append(event)
        self._published += len(events)
        if self._published >= SWEEP_EVERY:
            self._published = 0
            self._sweep(now)
        return published

    def _sweep(self, now: float) -> None:
        oldest = now - self.retention.seconds
        for user_id in [u for u, s in self._streams.items() if s[-1][0] < oldest]:
            del self._streams[user_id]

    async def replay(self, user_id: uuid.UUID, after: EventId) -> list[UserEvent]:
        oldest = time.monotonic() - self.retention.seconds
        stream = self._streams.get(user_id, ())
        return [event for at, event in stream if at >= oldest and event.id > after]

    async def top(self, user_id: uuid.UUID) -> EventId:
        stream = self._streams.get(user_id)
        return stream[-1][1].id if stream else EventId(0, 0)

    @asynccontextmanager
    async def subscribe(self, user_id: uuid.UUID, after: EventId | None) -> AsyncIterator[Subscription]:
        top = await self.top(user_id)
        follower = self._followers.follow(user_id, lambda last: self.replay(user_id, last), top, after)
        try:
            yield follower
        finally:
            self._followers.leave(user_id, follower)

    async def close(self) -> None:
        self._followers.clear()


class InProcessConnectionSlots:
    """Open streams per user in this process; a process that dies takes its count with it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._leases: dict[uuid.UUID, set[str]] = {}

    async def acquire(self, user_id: uuid.UUID) -> str | None:
        leases = self._leases.setdefault(user_id, set())
        if len(leases) >= self.limit:
            return None
        lease = uuid.uuid4().hex
        leases.add(lease)
        return lease

    async def release(self, user_id: uuid.UUID, lease: str) -> None:
        leases = self._leases.get(user_id, set())
        leases.discard(lease)
        if not leases:
            self._leases.pop(user_id, None)

    async def held(self, user_id: uuid.UUID) -> int:
        return len(self._leases.get(user_id, ()))

    async def close(self) -> None:
        self._leases.clear()
