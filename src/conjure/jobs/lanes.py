"""Fair dispatch: per-payer lanes, a bound on each payer's jobs in flight, priority classes with aging.

A broker's ready queue is FIFO, so one user who submits 10,000 jobs would put every other
user's job behind them. Instead a job enters the ready queue only while its payer has fewer
than ``JOB_MAX_INFLIGHT_PER_USER`` jobs there (ready or being worked on) and the queue's ready
part is under ``JOB_DISPATCH_WINDOW``; otherwise it waits in its payer's lane. Whenever room
appears (an acknowledgement, the scheduler's tick), lanes are promoted:

- across priority classes, the class whose next job has the highest *effective* class
  (its class + waited seconds / ``JOB_PRIORITY_AGING_SECONDS``): higher classes go first, and
  a lower class waiting long enough overtakes them (aging, so nothing starves);
- within a class, round-robin over payers (a payer goes to the back of the ring after each
  promotion), so a flooding payer gets one turn per round like everybody else.

So a light user's job waits behind at most ``JOB_MAX_INFLIGHT_PER_USER`` jobs of each heavier
payer, i.e. within one claim batch when that bound is no larger than a batch. Only jobs without a
payer (system jobs) enter the ready queue directly. A job's class and lane are stored on its row
(``jobs.priority``, ``jobs.lane``), and every re-dispatch goes through the lanes with them: a
dispatch that names no lanes asks the broker's :data:`LaneLookup` (:mod:`conjure.jobs.redispatch`
reads the rows), retries leave the delayed set through the lanes, and the reconciler passes the
lanes it read. The lanes only order dispatch: the jobs table stays the record, and a job that a
lane loses (a flushed Redis) is re-dispatched by the reconciler like any other.

:class:`LaneQueue` is the policy in Python (the in-process broker); :data:`LANES_LUA` is the same
policy as Redis scripts (:class:`conjure.jobs.streams.RedisStreamsBroker`), one atomic call per
dispatch, acknowledgement or tick. ``tests/jobs/test_fairness.py`` runs one suite against both.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conjure.settings import Settings


class Priority(IntEnum):
    """A job's class: higher is promoted first (aging keeps lower classes moving)."""

    BATCH = 0  # bulk work nobody watches
    NORMAL = 1  # the default: a user waiting for a result
    HIGH = 2  # a paying plan's faster lane, interactive requests, operator re-drives


@dataclass(frozen=True, slots=True)
class Lane:
    """Who a job is fair-queued as (its payer: a user, an ops station, an API key) and its class."""

    payer: str
    priority: int = Priority.NORMAL


def payer_lane(user_id: uuid.UUID | None, lane: str | None, priority: int) -> Lane | None:
    """A job's lane: its payer (``lane``, else its user) and its class; None for a system job."""
    payer = lane if lane is not None else (str(user_id) if user_id is not None else None)
    return None if payer is None else Lane(payer, priority)


# Each job's stored lane (None: a system job, or not found), for a dispatch that names none.
LaneLookup = Callable[[Sequence[uuid.UUID]], Awaitable[list[Lane | None]]]


@dataclass(frozen=True, slots=True)
class LanePolicy:
    """The bounds of fair dispatch (settings ``JOB_MAX_INFLIGHT_PER_USER``, ``JOB_DISPATCH_WINDOW``,
    ``JOB_PRIORITY_AGING_SECONDS``)."""

    max_inflight: int = 32
    window: int = 500
    aging_seconds: float = 10.0


def lane_policy(settings: Settings) -> LanePolicy:
    return LanePolicy(
        max_inflight=settings.job_max_inflight_per_user,
        window=settings.job_dispatch_window,
        aging_seconds=settings.job_priority_aging_seconds,
    )


class LaneQueue:
    """The fair-dispatch policy over an in-memory ready queue (the in-process broker's)."""

    def __init__(self, policy: LanePolicy, admit: Callable[[uuid.UUID, str], None]) -> None:
        self.policy = policy
        self._admit = admit  # puts a job on the ready queue, tagged with its payer
        self._lanes: dict[tuple[int, str], deque[tuple[uuid.UUID, float]]] = {}
        self._rings: dict[int, deque[str]] = {p: deque() for p in Priority}
        self._parked: set[tuple[int, str]] = set()  # payers at their bound with jobs waiting
        self.inflight: dict[str, int] = {}
        self.waiting = 0  # jobs in lanes

    def dispatch(self, job_id: uuid.UUID, lane: Lane, room: int, now: float | None = None) -> bool:
        """Admit the job now (True) or queue it in its payer's lane."""
        payer, prio = lane.payer, _clamp(lane.priority)
        if room > 0 and self.inflight.get(payer, 0) < self.policy.max_inflight:
            self._enter(job_id, payer)
            return True
        queue = self._lanes.setdefault((prio, payer), deque())
        queue.append((job_id, time.time() if now is None else now))
        self.waiting += 1
        if len(queue) == 1:
            if self.inflight.get(payer, 0) >= self.policy.max_inflight:
                self._parked.add((prio, payer))
            else:
                self._rings[prio].append(payer)
        return False

    def done(self, payers: Iterable[str]) -> None:
        """Entries of these payers left the queue (acknowledged): their bound has room again."""
        for payer in payers:
            left = self.inflight.get(payer, 0) - 1
            if left > 0:
                self.inflight[payer] = left
            else:
                self.inflight.pop(payer, None)
            self._unpark(payer)

    def promote(self, room: int, now: float | None = None) -> int:
        """Move up to ``room`` waiting jobs onto the ready queue; how many it moved."""
        now = time.time() if now is None else now
        moved = 0
        while moved < room:
            prio = self._next_class(now)
            if prio is None:
                break
            payer = self._rings[prio].popleft()
            if self.inflight.get(payer, 0) >= self.policy.max_inflight:
                self._parked.add((prio, payer))  # its bound filled through another class
                continue
            queue = self._lanes[(prio, payer)]
            job_id, _since = queue.popleft()
            self.waiting -= 1
            self._enter(job_id, payer)
            moved += 1
            if not queue:
                del self._lanes[(prio, payer)]
            elif self.inflight.get(payer, 0) >= self.policy.max_inflight:
                self._parked.add((prio, payer))
            else:
                self._rings[prio].append(payer)  # round-robin: to the back of its class
        return moved

    def tick(self, queue_empty: bool) -> None:
        """The scheduler's tick: with nothing on the queue no payer has anything in flight, so
        counts that leaked are dropped; payers below their bound leave the parked set."""
        if queue_empty:
            self.inflight.clear()
        for _prio, payer in list(self._parked):
            self._unpark(payer)

    def _enter(self, job_id: uuid.UUID, payer: str) -> None:
        self.inflight[payer] = self.inflight.get(payer, 0) + 1
        self._admit(job_id, payer)

    def _unpark(self, payer: str) -> None:
        if self.inflight.get(payer, 0) >= self.policy.max_inflight:
            return
        for prio in Priority:
            if (prio, payer) in self._parked:
                self._parked.discard((prio, payer))
                self._rings[prio].append(payer)

    def _next_class(self, now: float) -> int | None:
        best: tuple[float, int] | None = None
        for prio, ring in self._rings.items():
            if not ring:
                continue
            _job, since = self._lanes[(prio, ring[0])][0]
            score = (effective_class(prio, now - since, self.policy.aging_seconds), prio)
            if best is None or score > best:
                best = score
        return None if best is None else best[1]

    def lanes(self) -> Iterator[tuple[tuple[int, str], int]]:
        """(class, payer) -> jobs waiting, for stats and tests."""
        for key, queue in self._lanes.items():
            yield key, len(queue)


def effective_class(priority: int, waited: float, aging_seconds: float) -> float:
    """A class plus one for every ``aging_seconds`` its job has waited (aging)."""
    return priority + (max(waited, 0.0) / aging_seconds if aging_seconds > 0 else 0.0)


def _clamp(priority: int) -> int:
    return min(max(int(priority), min(Priority)), max(Priority))


# The same policy in Redis. Keys: the stream, its consumer group, the in-flight hash (payer ->
# entries on the stream), the waiting counter, the parked set; lanes ``<prefix>lane:<class>:<payer>``
# (lists of "job_id|since") and rings ``<prefix>ring:<class>`` (lists of payers, with the set
# ``<prefix>ringed:<class>`` for membership) are named from the prefix. One Redis: the dynamic
# keys are not declared, so a Redis Cluster needs them under one hash tag (docs/scale.md).
LANES_LUA = """
local stream, group, inflight, waiting, parked = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, limit, window, aging, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4]), tonumber(ARGV[5])
local classes = {2, 1, 0}

local function lane(c, payer) return prefix .. 'lane:' .. c .. ':' .. payer end
local function ring(c) return prefix .. 'ring:' .. c end
local function ringed(c) return prefix .. 'ringed:' .. c end
local function held(payer) return tonumber(redis.call('HGET', inflight, payer) or '0') end

local function ready_room()
  local length = redis.call('XLEN', stream)
  if length == 0 then return window end
  local ok, pending = pcall(redis.call, 'XPENDING', stream, group)
  local busy = 0
  if ok and pending then busy = tonumber(pending[1]) or 0 end
  return window - (length - busy)
end

local function enter(id, payer)
  redis.call('XADD', stream, '*', 'job_id', id, 'lane', payer)
  redis.call('HINCRBY', inflight, payer, 1)
end

local function ring_in(c, payer)
  if redis.call('SADD', ringed(c), payer) == 1 then redis.call('RPUSH', ring(c), payer) end
end

local function park(c, payer)
  redis.call('SREM', ringed(c), payer)
  redis.call('SADD', parked, c .. '|' .. payer)
end

local function unpark(payer)
  if held(payer) >= limit then return end
  for _, c in ipairs(classes) do
    if redis.call('SREM', parked, c .. '|' .. payer) == 1 then ring_in(c, payer) end
  end
end

-- Admit the job while there is room and its payer is under the bound, else queue it in its
-- payer's lane; returns the room left.
local function place(id, payer, c, room)
  if room > 0 and held(payer) < limit then
    enter(id, payer)
    return room - 1
  end
  local length = redis.call('RPUSH', lane(c, payer), id .. '|' .. now)
  redis.call('INCR', waiting)
  if length == 1 then
    if held(payer) >= limit then park(c, payer) else ring_in(c, payer) end
  end
  return room
end

local function next_class()
  local best, best_score = nil, nil
  for _, c in ipairs(classes) do
    local payer = redis.call('LINDEX', ring(c), 0)
    if payer then
      local head = redis.call('LINDEX', lane(c, payer), 0)
      local score = c
      if head and aging > 0 then
        local since = tonumber(string.match(head, '|(.*)$')) or now
        score = c + math.max(now - since, 0) / aging
      end
      if best == nil or score > best_score then best, best_score = c, score end
    end
  end
  return best
end

local function promote(room)
  local moved = 0
  while moved < room do
    local c = next_class()
    if c == nil then break end
    local payer = redis.call('LPOP', ring(c))
    if held(payer) >= limit then
      park(c, payer)
    else
      local item = redis.call('LPOP', lane(c, payer))
      if item then
        enter(string.match(item, '^([^|]*)'), payer)
        redis.call('DECR', waiting)
        moved = moved + 1
      end
      if redis.call('LLEN', lane(c, payer)) == 0 then
        redis.call('SREM', ringed(c), payer)
      elseif held(payer) >= limit then
        park(c, payer)
      else
        redis.call('RPUSH', ring(c), payer)
      end
    end
  end
  return moved
end
"""

LANES_DISPATCH_LUA = (
    LANES_LUA
    + """
-- ARGV[6..]: job id, payer, class, repeated
local room = ready_room()
-- Room that opened since the last acknowledgement goes to jobs already waiting, not to these.
if room > 0 and tonumber(redis.call('GET', waiting) or '0') > 0 then room = room - promote(room) end
local admitted = 0
for i = 6, #ARGV, 3 do
  local left = place(ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), room)
  if left < room then admitted = admitted + 1 end
  room = left
end
return admitted
"""
)

# Retries whose time came leave the delayed set through their payers' lanes (their stored lanes,
# looked up by the caller). Only ids still in the set move (ZREM decides), so two schedulers never
# move one retry twice; an id without a payer (a system job) goes straight onto the stream.
LANES_MOVE_DUE_LUA = (
    LANES_LUA
    + """
-- KEYS[6]: the delayed set. ARGV[6..]: job id, payer ('' for none), class, repeated
local delayed = KEYS[6]
local room = ready_room()
if room > 0 and tonumber(redis.call('GET', waiting) or '0') > 0 then room = room - promote(room) end
local moved = 0
for i = 6, #ARGV, 3 do
  local id, payer = ARGV[i], ARGV[i + 1]
  if redis.call('ZREM', delayed, id) == 1 then
    moved = moved + 1
    if payer == '' then
      redis.call('XADD', stream, '*', 'job_id', id)
    else
      room = place(id, payer, tonumber(ARGV[i + 2]), room)
    end
  end
end
return moved
"""
)

LANES_ACK_LUA = (
    LANES_LUA
    + """
-- ARGV[6]: how many entry ids follow; then the entry ids; then the payers of laned entries
local count = tonumber(ARGV[6])
if count > 0 then
  local ids = {}
  for i = 7, 6 + count do ids[#ids + 1] = ARGV[i] end
  redis.call('XACK', stream, group, unpack(ids))
  redis.call('XDEL', stream, unpack(ids))
end
for i = 7 + count, #ARGV do
  local payer = ARGV[i]
  if redis.call('HINCRBY', inflight, payer, -1) <= 0 then redis.call('HDEL', inflight, payer) end
  unpark(payer)
end
if tonumber(redis.call('GET', waiting) or '0') > 0 then return promote(ready_room()) end
return 0
"""
)

# The scheduler's tick: heal leaked in-flight counts once the stream is empty, unpark payers
# below their bound, promote into the room there is (covers a lost acknowledgement). Returns
# {promoted, jobs still waiting, the earliest delayed retry's score or false} (KEYS[6]: the
# delayed set), so an idle scheduler learns in this one call that it may sleep, and until when.
LANES_TICK_LUA = (
    LANES_LUA
    + """
if redis.call('XLEN', stream) == 0 then redis.call('DEL', inflight) end
for _, member in ipairs(redis.call('SMEMBERS', parked)) do
  unpark(string.match(member, '|(.*)$'))
end
local promoted = 0
if tonumber(redis.call('GET', waiting) or '0') > 0 then promoted = promote(ready_room()) end
local first = redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')
return {promoted, tonumber(redis.call('GET', waiting) or '0'), first[2] or false}
"""
)
