"""User events, their ids, and the two protocols behind the stream: the hub and the connection slots.

An event id is ``<milliseconds>-<sequence>`` (a Redis stream entry id; the in-process hub
makes the same shape), strictly increasing per user. Clients treat it as opaque and send
the last one back as ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

# "image.ready", "job.succeeded", "message.delta": a domain, a dot, what happened.
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_EVENT_ID = re.compile(r"^(\d{1,19})(?:-(\d{1,19}))?$")
# A follower whose queue is this full has fallen behind; it re-reads from the store instead.
FOLLOWER_QUEUE_SIZE = 1000


class EventId(NamedTuple):
    """A position in one user's stream; tuples compare in stream order."""

    ms: int
    seq: int

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"

    @classmethod
    def parse(cls, text: str | bytes) -> EventId | None:
        """The id in ``text`` ("1700000000000-3", or "5" meaning "5-0"); None when it is not one."""
        if isinstance(text, bytes):
            text = text.decode()
        match = _EVENT_ID.match(text.strip())
        if match is None:
            return None
        return cls(int(match[1]), int(match[2] or 0))


START = EventId(0, 0)  # before every event: "replay all that is retained"


@dataclass(frozen=True)
class UserEvent:
    """One event in a user's stream; ``data`` is its JSON text (sent to clients as it is)."""

    id: EventId
    user_id: uuid.UUID
    type: str
    data: str

    def payload(self) -> Any:
        return json.loads(self.data)


def encode_data(data: dict[str, Any]) -> str:
    """An event's data as JSON (ids, times and the like as strings), the same in both hubs."""
    return json.dumps(data, default=str, separators=(",", ":"))


class NewEvent(NamedTuple):
    """An event to publish (the hub gives it its id)."""

    user_id: uuid.UUID
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Retention:
    """How much of each user's stream is kept for replay: the last ``count`` events, up to ``seconds`` old."""

    count: int
    seconds: float


class Subscription(Protocol):
    """One connection's view of a user's events: replayed ones first, then live ones, each once, in order."""

    async def next(self, timeout: float) -> UserEvent | None:
        """The next event, or None when ``timeout`` seconds pass without one."""


class UserEventHub(Protocol):
    """Publish events to users; replay and follow one user's events."""

    retention: Retention

    async def publish_many(self, events: Sequence[NewEvent]) -> list[UserEvent]:
        """Append events (in order) to their users' streams and wake the users' followers."""

    async def replay(self, user_id: uuid.UUID, after: EventId) -> list[UserEvent]:
        """Retained events after ``after``, oldest first (at most ``retention.count``, none too old)."""

    async def top(self, user_id: uuid.UUID) -> EventId:
        """The id of the user's newest event (``0-0`` for none): following after it misses nothing later."""

    def subscribe(
        self, user_id: uuid.UUID, after: EventId | None
    ) -> AbstractAsyncContextManager[Subscription]:
        """Follow a user's events: those after ``after`` that are retained, then live ones.

        ``after=None`` follows live events only (published after the call).
        """

    async def close(self) -> None: ...


class ConnectionSlots(Protocol):
    """Counts each user's open streams against ``limit``; a lease is one open stream."""

    limit: int

    async def acquire(self, user_id: uuid.UUID) -> str | None:
        """A lease for one more stream, or None when the user already holds ``limit``."""

    async def release(self, user_id: uuid.UUID, lease: str) -> None: ...

    async def held(self, user_id: uuid.UUID) -> int:
        """How many streams the user holds now (every process counted)."""

    async def close(self) -> None: ...


Fetch = Callable[[EventId], Awaitable[list[UserEvent]]]


class Follower:
    """A :class:`Subscription` both hubs share: a queue the hub fills, the store read when behind.

    The hub ``offer``s live events; replayed ones come from ``fetch`` (the store). Ids at or
    below the last one handed out are dropped, so an event both replayed and offered is seen
    once. A follower whose queue overflows (a slow client) re-reads from the store instead
    of blocking the hub.
    """

    def __init__(self, fetch: Fetch, last: EventId) -> None:
        self._fetch = fetch
        self.last = last
        self._queue: asyncio.Queue[UserEvent] = asyncio.Queue(maxsize=FOLLOWER_QUEUE_SIZE)
        self._pending: deque[UserEvent] = deque()
        self._behind = True  # read the store once first (the replay, or what came since `last`)

    def offer(self, event: UserEvent) -> None:
        if self._behind:
            return  # the next store read has it
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._behind = True

    async def next(self, timeout: float) -> UserEvent | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._behind:
                self._behind = False
                while not self._queue.empty():
                    self._queue.get_nowait()  # published before the read below, so in it
                self._pending.extend(await self._fetch(self.last))
            if self._pending:
                event = self._pending.popleft()
            else:
                left = deadline - loop.time()
                if left <= 0:
                    return None
                try:
                    event = await asyncio.wait_for(self._queue.get(), left)
                except TimeoutError:
                    return None
            if event.id > self.last:
                self.last = event.id
                return event


class Followers:
    """Each user's followers in this process, which both hubs offer that user's new events to."""

    def __init__(self) -> None:
        self._by_user: dict[uuid.UUID, set[Follower]] = {}

    def follow(self, user_id: uuid.UUID, fetch: Fetch, top: EventId, after: EventId | None) -> Follower:
        """A new follower of ``user_id`` from ``after`` (or from ``top``, the newest id, when it is
        None or ahead of ``top``: an id from the future means from now)."""
        follower = Follower(fetch, top if after is None or after > top else after)
        self._by_user.setdefault(user_id, set()).add(follower)
        return follower

    def leave(self, user_id: uuid.UUID, follower: Follower) -> bool:
        """Forget ``follower``; True when it was the user's last one."""
        followers = self._by_user.get(user_id, set())
        followers.discard(follower)
        if followers:
            return False
        self._by_user.pop(user_id, None)
        return True

    def offer(self, user_id: uuid.UUID, event: UserEvent) -> None:
        for follower in self._by_user.get(user_id, ()):
            follower.offer(event)

    def clear(self) -> None:
        self._by_user.clear()
