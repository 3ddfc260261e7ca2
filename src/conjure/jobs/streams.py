"""The production broker: Redis Streams with one consumer group, a delayed set and a DLQ stream.

Redis dispatches; the jobs table is the record. Acknowledged entries are deleted
(XACK + XDEL) so the stream holds only undelivered and pending entries and is
never trimmed past anything still pending. A flushed Redis is survivable: the
group is recreated on NOGROUP and the reconciler re-dispatches what was queued.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from conjure.jobs import keys
from conjure.jobs.events import Event, RedisEventBus
from conjure.jobs.lanes import (
    LANES_ACK_LUA,
    LANES_DISPATCH_LUA,
    LANES_MOVE_DUE_LUA,
    LANES_TICK_LUA,
    Lane,
    LaneLookup,
    LanePolicy,
)
from conjure.jobs.types import BrokerStats, Delivery, Tick
from conjure.redis_scripts import ScriptedPipeline

log = structlog.get_logger("conjure.jobs.streams")

# Acknowledge and delete entries only where ``consumer`` still holds them: after XAUTOCLAIM the new
# owner has the same entry id, and XACK is per group, so a zombie's plain XACK would remove it.
_ACK_OWNED = """
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local done = {}
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', stream, group, ARGV[i], ARGV[i], 1)
  if pending[1] and pending[1][2] == consumer then
    redis.call('XACK', stream, group, ARGV[i])
    redis.call('XDEL', stream, ARGV[i])
    done[#done + 1] = ARGV[i]
  end
end
return done
"""
_LANE_KEYS = [keys.STREAM, keys.GROUP, keys.INFLIGHT, keys.WAITING, keys.PARKED]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _deliveries(entries: Sequence[Any]) -> list[Delivery]:
    out = []
    for entry in entries or ():
        if entry is None:
            continue
        ref, fields = entry
        if not fields:
            continue
        raw = fields.get(b"job_id", fields.get("job_id"))
        lane = fields.get(b"lane", fields.get("lane"))
        try:
            out.append(
                Delivery(
                    job_id=uuid.UUID(_text(raw)), ref=_text(ref), lane=None if lane is None else _text(lane)
                )
            )
        except (TypeError, ValueError):
            log.warning("stream_entry_malformed", ref=_text(ref))
    return out


class RedisStreamsBroker:
    """``jobs:stream`` + ``jobs:group`` + ``jobs:delayed`` + ``jobs:dlq`` (names in :mod:`keys`)."""

    durable = True

    def __init__(
        self, redis: aioredis.Redis, lanes: LanePolicy | None = None, stored: LaneLookup | None = None
    ) -> None:
        self.redis = redis
        self.events = RedisEventBus(redis)
        self.policy = lanes or LanePolicy()
        # A re-dispatch names no lanes: each job's stored one is looked up (conjure.jobs.redispatch).
        self.stored = stored
        self._lanes_move_due = redis.register_script(LANES_MOVE_DUE_LUA)
        self._ack_owned = redis.register_script(_ACK_OWNED)
        self._lanes_dispatch = redis.register_script(LANES_DISPATCH_LUA)
        self._lanes_ack = redis.register_script(LANES_ACK_LUA)
        self._lanes_tick = redis.register_script(LANES_TICK_LUA)
        self._autoclaim_cursor = "0-0"
        # This process's scheduler, told of each retry it schedules (it may be sleeping past it).
        self.on_delayed: Callable[[float], None] | None = None
        # The payer of each laned entry this process holds, for the acknowledgement that frees
        # its place in the payer's in-flight bound (entries carry it; a reclaim learns it too).
        self._payers: dict[str, str] = {}

    async def start(self) -> None:
        try:
            await self.ensure_group()
        except Exception:
            # The API must start even when Redis is briefly down; /ready reports it.
            log.warning("redis_unavailable_at_start")

    async def close(self) -> None:
        return None

    def interrupt(self) -> None:
        """A blocked XREADGROUP returns by itself within its block time (``FETCH_BLOCK_MS``)."""

    async def ping(self) -> None:
        await self.redis.ping()

    async def ensure_group(self) -> None:
        """Create the consumer group (and stream); id 0 so entries added before it are read too."""
        try:
            await self.redis.xgroup_create(keys.STREAM, keys.GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def config_warnings(self) -> list[str]:
        """Settings a production Redis needs so that dispatch state survives a restart."""
        warnings = []
        try:
            config = await self.redis.config_get("appendonly")
            config.update(await self.redis.config_get("maxmemory-policy"))
        except ResponseError:
            return ["Could not read Redis CONFIG; make sure appendonly=yes and maxmemory-policy=noeviction."]
        values = {_text(k): _text(v) for k, v in config.items()}
        if values.get("appendonly") != "yes":
            warnings.append("Redis appendonly is off: set appendonly yes (appendfsync everysec).")
        if values.get("maxmemory-policy") != "noeviction":
            warnings.append("Redis maxmemory-policy is not noeviction: job entries could be evicted.")
        return warnings

    def _lane_args(self) -> list[Any]:
        policy = self.policy
        return [keys.LANES, policy.max_inflight, policy.window, policy.aging_seconds, time.time()]

    async def dispatch(
        self, job_ids: Sequence[uuid.UUID], lanes: Sequence[Lane | None] | None = None
    ) -> None:
        """Make jobs ready now; those with a lane through their payer's lane (fair dispatch).
        Without ``lanes`` (a re-dispatch) each job's stored lane is used."""
        if lanes is None and self.stored is not None and job_ids:
            lanes = await self.stored(job_ids)
        laned = [(job_id, lane) for job_id, lane in zip(job_ids, lanes or (), strict=False) if lane]
        plain = [
            job_id for job_id, lane in zip(job_ids, lanes or [None] * len(job_ids), strict=True) if not lane
        ]
        if laned:
            args = [part for job_id, lane in laned for part in (str(job_id), lane.payer, int(lane.priority))]
            await self._lanes_dispatch(keys=_LANE_KEYS, args=[*self._lane_args(), *args])
        if len(plain) == 1:  # a plain command costs less than a pipeline
            await self.redis.xadd(keys.STREAM, {"job_id": str(plain[0])})
        elif plain:
            async with self.redis.pipeline(transaction=False) as pipe:
                for job_id in plain:
                    pipe.xadd(keys.STREAM, {"job_id": str(job_id)})
                await pipe.execute()

    async def dispatch_later(self, job_id: uuid.UUID, due: float) -> None:
        """Make a job ready at unix time ``due`` (a retry)."""
        await self.redis.zadd(keys.DELAYED, {str(job_id): due})
        if self.on_delayed is not None:
            self.on_delayed(due)

    async def forget_delayed(self, job_id: uuid.UUID) -> None:
        await self.redis.zrem(keys.DELAYED, str(job_id))

    async def move_due(self, now: float | None = None, limit: int = 500) -> int:
        """Move retries whose time has come back through their payers' lanes (their stored class),
        and promote waiting lanes into the room there is (the scheduler's tick: covers an
        acknowledgement whose promotion was lost)."""
        return (await self.tick(now, limit)).moved

    async def tick(self, now: float | None = None, limit: int = 500) -> Tick:
        """:meth:`move_due`, saying what waits: an idle tick is this one script call."""
        now = time.time() if now is None else now
        _promoted, waiting, first = await self._lanes_tick(
            keys=[*_LANE_KEYS, keys.DELAYED], args=self._lane_args()
        )
        next_due = None if not first else float(first)
        if next_due is None or next_due > now:
            return Tick(moved=0, next_due=next_due, waiting=int(waiting) > 0)
        due = [
            _text(member)
            for member in await self.redis.zrangebyscore(keys.DELAYED, "-inf", now, start=0, num=limit)
        ]
        moved = 0
        if due:
            lanes = await self._stored_lanes(due)
            args = [
                part
                for job_id, lane in zip(due, lanes, strict=True)
                for part in (job_id, lane.payer if lane else "", int(lane.priority) if lane else 0)
            ]
            moved = int(
                await self._lanes_move_due(keys=[*_LANE_KEYS, keys.DELAYED], args=[*self._lane_args(), *args])
            )
        # What is left is due later (or at once, past ``limit``: the busy pace covers it).
        return Tick(moved=moved, next_due=now if moved >= limit else None, waiting=int(waiting) > 0)

    async def _stored_lanes(self, members: Sequence[str]) -> list[Lane | None]:
        """The stored lanes of delayed-set members (None for a member that is no job id)."""
        ids: dict[str, uuid.UUID] = {}
        for member in members:
            try:
                ids[member] = uuid.UUID(member)
            except ValueError:
                continue
        if self.stored is None or not ids:
            return [None] * len(members)
        found = dict(zip(ids, await self.stored(list(ids.values())), strict=True))
        return [found.get(member) for member in members]

    async def fetch(self, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        """Up to ``count`` new entries for this consumer, waiting at most ``block_ms``."""
        try:
            response: Any = await self.redis.xreadgroup(
                keys.GROUP, consumer, {keys.STREAM: ">"}, count=count, block=block_ms
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("consumer_group_missing_recreating")
            await self.ensure_group()
            return []
        out: list[Delivery] = []
        for _stream, entries in response or ():
            out.extend(_deliveries(entries))
        self._remember(out)
        return out

    def _remember(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            if delivery.lane is not None:
                self._payers[delivery.ref] = delivery.lane

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Delivery]:
        """Take over entries another consumer read but left idle past ``min_idle_ms`` (XAUTOCLAIM)."""
        try:
            result: Any = await self.redis.xautoclaim(
                keys.STREAM, keys.GROUP, consumer, min_idle_ms, self._autoclaim_cursor, count=count
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return []
        cursor, entries = result[0], result[1]
        self._autoclaim_cursor = _text(cursor)
        out = _deliveries(entries)
        self._remember(out)
        return out

    async def ack(
        self,
        refs: Sequence[str],
        events: Sequence[tuple[uuid.UUID, Event]] = (),
        riders: Sequence[Callable[[Pipeline], object]] = (),
    ) -> None:
        """Publish ``events``, then acknowledge and delete handled entries: one round trip.
        ``riders`` queue more commands on that pipeline (the jobs' owners' events), best effort:
        what fails of theirs is logged, not raised."""
        if not refs and not events:
            return
        payers = [payer for ref in refs if (payer := self._payers.pop(ref, None)) is not None]
        async with self.redis.pipeline(transaction=False) as pipe:
            scripted = ScriptedPipeline(pipe)
            for job_id, event in events:
                pipe.publish(keys.events_channel(job_id), json.dumps(event, default=str))
            if refs:  # and promote into the room they leave, from the lanes (their payers' first)
                args = [*self._lane_args(), len(refs), *refs, *payers]
                scripted.script(self._lanes_ack, _LANE_KEYS, args)
            own = len(pipe)
            for rider in riders:
                rider(pipe)
            replies = await scripted.execute(strict=own)
        failed = [reply for reply in replies[own:] if isinstance(reply, Exception)]
        if failed:
            log.warning("ack_riders_failed", count=len(failed), error=str(failed[0]))

    async def ack_owned(self, consumer: str, refs: Sequence[str]) -> int:
        """Acknowledge and delete entries of lost claims, only those ``consumer`` still holds
        (another consumer may have taken them over); how many it did."""
        if not refs:
            return 0
        done = [
            _text(ref)
            for ref in await self._ack_owned(keys=[keys.STREAM], args=[keys.GROUP, consumer, *refs])
        ]
        payers = [payer for ref in refs if (payer := self._payers.pop(ref, None)) is not None and ref in done]
        if payers:
            await self._lanes_ack(keys=_LANE_KEYS, args=[*self._lane_args(), 0, *payers])
        return len(done)

    async def touch(self, consumer: str, refs: Sequence[str]) -> None:
        """Heartbeat: reset the idle time of entries a long job still holds."""
        if refs:
            await self.redis.xclaim(keys.STREAM, keys.GROUP, consumer, 0, list(refs), justid=True)

    async def dead_letter(self, job_id: uuid.UUID, fields: dict[str, str]) -> None:
        entry: dict[Any, Any] = {"job_id": str(job_id), **fields}
        await self.redis.xadd(keys.DLQ, entry)

    async def drop_dead_letters(self, job_ids: Sequence[uuid.UUID] | None = None) -> int:
        """Remove DLQ stream entries of these jobs, or all when ``job_ids`` is None."""
        if job_ids is None:
            size = int(await self.redis.xlen(keys.DLQ))
            await self.redis.delete(keys.DLQ)
            return size
        wanted = {str(job_id) for job_id in job_ids}
        entries: Any = await self.redis.xrange(keys.DLQ)
        refs = [ref for ref, fields in entries if _text(fields.get(b"job_id", b"")) in wanted]
        if refs:
            await self.redis.xdel(keys.DLQ, *refs)
        return len(refs)

    async def stats(self) -> BrokerStats:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xlen(keys.STREAM)
            pipe.zcard(keys.DELAYED)
            pipe.xlen(keys.DLQ)
            length, delayed, dlq = await pipe.execute()
        try:
            pending = int((await self.redis.xpending(keys.STREAM, keys.GROUP))["pending"])
        except ResponseError:
            pending = 0
        waiting = int(await self.redis.get(keys.WAITING) or 0)  # in payers' lanes: ready too
        return BrokerStats(
            ready=max(int(length) - pending, 0) + max(waiting, 0),
            pending=pending,
            delayed=int(delayed),
            dead_letters=int(dlq),
        )

    async def announce(self, worker_id: str) -> None:
        """Record that a worker is alive (its heartbeat), for stats and operators."""
        await self.redis.hset(keys.WORKERS, worker_id, str(time.time()))

    async def retire(self, worker_id: str) -> None:
        await self.redis.hdel(keys.WORKERS, worker_id)

    async def workers(self) -> dict[str, float]:
        """Worker id -> unix time last seen."""
        raw: Any = await self.redis.hgetall(keys.WORKERS)
        return {_text(k): float(_text(v)) for k, v in raw.items()}
