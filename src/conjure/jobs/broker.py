"""The broker interface and the in-process broker; :func:`make_broker` picks one by settings.

A broker only hands job ids to workers. Both implementations keep the same
contract (tests/jobs/test_broker_contract.py): dispatch, delayed dispatch, fetch
in batches, acknowledge (or only what a consumer still holds), reclaim entries idle
past the visibility timeout, heartbeat, dead letters and stats.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from conjure.jobs.events import Event, EventBus, InProcessEventBus
from conjure.jobs.lanes import Lane, LaneLookup, LanePolicy, LaneQueue
from conjure.jobs.streams import RedisStreamsBroker
from conjure.jobs.types import BrokerStats, Delivery, Tick

if TYPE_CHECKING:
    import redis.asyncio as aioredis

__all__ = ["Broker", "BrokerStats", "Delivery", "InProcessBroker", "RedisStreamsBroker", "make_broker"]


class Broker(Protocol):
    """What the engine needs from a queue."""

    @property
    def durable(self) -> bool:
        """False when the queue dies with the process: the reconciler then re-dispatches
        every queued job at start-up instead of waiting for the bound."""

    @property
    def events(self) -> EventBus:
        """Live job events (pub/sub) matching this broker."""

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    def interrupt(self) -> None:
        """End a fetch that is waiting in this process (a stopping worker's), if the queue can."""

    async def ping(self) -> None: ...
    async def config_warnings(self) -> list[str]: ...
    async def dispatch(
        self, job_ids: Sequence[uuid.UUID], lanes: Sequence[Lane | None] | None = None
    ) -> None:
        """Make jobs ready now; those given a lane through their payer's lane (fair dispatch,
        :mod:`conjure.jobs.lanes`). Without ``lanes`` (a re-dispatch) each job's stored lane is
        used when the broker was given a :data:`LaneLookup`; ``[None]`` is a system job."""

    async def dispatch_later(self, job_id: uuid.UUID, due: float) -> None: ...
    async def forget_delayed(self, job_id: uuid.UUID) -> None: ...
    async def move_due(self, now: float | None = None, limit: int = 500) -> int: ...
    async def tick(self, now: float | None = None, limit: int = 500) -> Tick:
        """:meth:`move_due`, and what it saw: the earliest retry still delayed, jobs in lanes."""

    # Called with each retry's due time this process schedules (the scheduler may sleep past it).
    on_delayed: Callable[[float], None] | None

    async def fetch(self, consumer: str, count: int, block_ms: int) -> list[Delivery]: ...
    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Delivery]: ...
    async def ack(self, refs: Sequence[str], events: Sequence[tuple[uuid.UUID, Event]] = ()) -> None:
        """Acknowledge handled entries, publishing ``events`` in the same round trip."""

    async def ack_owned(self, consumer: str, refs: Sequence[str]) -> int:
        """Acknowledge entries only where ``consumer`` still holds them (a lost claim's entry
        may have been taken over by another consumer: it is then left to that one)."""

    async def touch(self, consumer: str, refs: Sequence[str]) -> None: ...
    async def dead_letter(self, job_id: uuid.UUID, fields: dict[str, str]) -> None: ...
    async def drop_dead_letters(self, job_ids: Sequence[uuid.UUID] | None = None) -> int: ...
    async def stats(self) -> BrokerStats: ...
    async def announce(self, worker_id: str) -> None: ...
    async def retire(self, worker_id: str) -> None: ...
    async def workers(self) -> dict[str, float]: ...


class InProcessBroker:
    """The embedded default: queues in memory, the jobs table as the durable record."""

    durable = False

    def __init__(self, lanes: LanePolicy | None = None, stored: LaneLookup | None = None) -> None:
        self.events = InProcessEventBus()
        self.lanes = LaneQueue(lanes or LanePolicy(), self._admit)
        self.stored = stored  # each job's stored lane, for a dispatch that names none
        self._ready: deque[Delivery] = deque()
        self._wakeup = asyncio.Event()
        self._pending: dict[str, tuple[Delivery, str, float]] = {}  # ref -> (delivery, consumer, since)
        self._delayed: list[tuple[float, uuid.UUID]] = []
        self._delayed_ids: dict[uuid.UUID, float] = {}
        self._dead: dict[uuid.UUID, dict[str, str]] = {}
        self._ids = itertools.count(1)
        self._workers: dict[str, float] = {}
        self.on_delayed: Callable[[float], None] | None = None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._wakeup.set()

    def interrupt(self) -> None:
        self._wakeup.set()

    async def ping(self) -> None:
        return None

    async def config_warnings(self) -> list[str]:
        return []

    async def dispatch(
        self, job_ids: Sequence[uuid.UUID], lanes: Sequence[Lane | None] | None = None
    ) -> None:
        if lanes is None and self.stored is not None and job_ids:
            lanes = await self.stored(job_ids)
        for job_id, lane in zip(job_ids, lanes or [None] * len(job_ids), strict=True):
            if lane is None:
                self._admit(job_id, None)
                continue
            if self.lanes.waiting:  # room that opened since the last acknowledgement: waiting jobs first
                self.lanes.promote(self._room())
            self.lanes.dispatch(job_id, lane, self._room())

    def _admit(self, job_id: uuid.UUID, payer: str | None) -> None:
        self._ready.append(Delivery(job_id=job_id, ref=f"{next(self._ids)}-0", lane=payer))
        self._wakeup.set()

    def _room(self) -> int:
        return self.lanes.policy.window - len(self._ready)

    def _left(self, deliveries: Sequence[Delivery]) -> None:
        """These entries left the queue: free their payers' places, promote what waits."""
        payers = [d.lane for d in deliveries if d.lane is not None]
        if payers:
            self.lanes.done(payers)
        if self.lanes.waiting:
            self.lanes.promote(self._room())

    async def dispatch_later(self, job_id: uuid.UUID, due: float) -> None:
        self._delayed_ids[job_id] = due
        heapq.heappush(self._delayed, (due, job_id))
        if self.on_delayed is not None:
            self.on_delayed(due)

    async def forget_delayed(self, job_id: uuid.UUID) -> None:
        self._delayed_ids.pop(job_id, None)

    async def move_due(self, now: float | None = None, limit: int = 500) -> int:
        return (await self.tick(now, limit)).moved

    async def tick(self, now: float | None = None, limit: int = 500) -> Tick:
        now = time.time() if now is None else now
        due: list[tuple[float, uuid.UUID]] = []
        while self._delayed and self._delayed[0][0] <= now and len(due) < limit:
            when, job_id = heapq.heappop(self._delayed)
            # Skip stale heap entries (re-scheduled or forgotten since).
            if self._delayed_ids.get(job_id) == when:
                del self._delayed_ids[job_id]
                due.append((when, job_id))
        try:
            await self.dispatch([job_id for _, job_id in due])  # through their stored lanes
        except Exception:
            for when, job_id in due:  # the look-up failed before anything moved: due again next tick
                self._delayed_ids[job_id] = when
                heapq.heappush(self._delayed, (when, job_id))
            raise
        self.lanes.tick(not self._ready and not self._pending)
        if self.lanes.waiting:
            self.lanes.promote(self._room())
        # Stale heap entries (re-scheduled, forgotten) may make this early: a tick, never late.
        next_due = self._delayed[0][0] if self._delayed else None
        return Tick(moved=len(due), next_due=next_due, waiting=self.lanes.waiting > 0)

    async def fetch(self, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        if not self._ready and block_ms > 0:
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), block_ms / 1000)
            except TimeoutError:
                return []
        out: list[Delivery] = []
        now = time.monotonic()
        while self._ready and len(out) < count:
            delivery = self._ready.popleft()
            self._pending[delivery.ref] = (delivery, consumer, now)
            out.append(delivery)
        return out

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Delivery]:
        now = time.monotonic()
        out: list[Delivery] = []
        for ref, (delivery, _owner, since) in list(self._pending.items()):
            if len(out) >= count:
                break
            if (now - since) * 1000 >= min_idle_ms:
                self._pending[ref] = (delivery, consumer, now)
                out.append(delivery)
        return out

    async def ack(self, refs: Sequence[str], events: Sequence[tuple[uuid.UUID, Event]] = ()) -> None:
        left = [entry[0] for ref in refs if (entry := self._pending.pop(ref, None)) is not None]
        self._left(left)
        await self.events.publish_many(events)

    async def ack_owned(self, consumer: str, refs: Sequence[str]) -> int:
        left: list[Delivery] = []
        for ref in refs:
            entry = self._pending.get(ref)
            if entry is not None and entry[1] == consumer:
                del self._pending[ref]
                left.append(entry[0])
        self._left(left)
        return len(left)

    async def touch(self, consumer: str, refs: Sequence[str]) -> None:
        now = time.monotonic()
        for ref in refs:
            if ref in self._pending:
                delivery, _owner, _since = self._pending[ref]
                self._pending[ref] = (delivery, consumer, now)

    async def dead_letter(self, job_id: uuid.UUID, fields: dict[str, str]) -> None:
        self._dead[job_id] = fields

    async def drop_dead_letters(self, job_ids: Sequence[uuid.UUID] | None = None) -> int:
        if job_ids is None:
            size = len(self._dead)
            self._dead.clear()
            return size
        return sum(self._dead.pop(job_id, None) is not None for job_id in job_ids)

    async def stats(self) -> BrokerStats:
        return BrokerStats(
            ready=len(self._ready) + self.lanes.waiting,
            pending=len(self._pending),
            delayed=len(self._delayed_ids),
            dead_letters=len(self._dead),
        )

    async def announce(self, worker_id: str) -> None:
        self._workers[worker_id] = time.time()

    async def retire(self, worker_id: str) -> None:
        self._workers.pop(worker_id, None)

    async def workers(self) -> dict[str, float]:
        return dict(self._workers)


def make_broker(
    redis: aioredis.Redis | None, lanes: LanePolicy | None = None, stored: LaneLookup | None = None
) -> Broker:
    """Redis Streams when ``REDIS_URL`` is set (a client is given), else the in-process broker;
    ``stored`` looks up the lanes of a re-dispatch (:class:`conjure.jobs.redispatch.StoredLanes`)."""
    if redis is not None:
        return RedisStreamsBroker(redis, lanes, stored)
    return InProcessBroker(lanes, stored)
