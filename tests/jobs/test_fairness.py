"""Fair dispatch (conjure.jobs.lanes): per-payer lanes, the in-flight bound, priority with aging.

Each behaviour runs against both brokers; the assertions are on order, never on timing. A plain
FIFO queue fails every one of them (a flooding payer's jobs would all come first).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from conjure.jobs.broker import Broker, InProcessBroker, RedisStreamsBroker
from conjure.jobs.lanes import Lane, LanePolicy, LaneQueue, Priority, effective_class
from conjure.jobs.models import JobStatus
from conjure.jobs.worker import Worker
from conjure.runtime import Runtime
from tests.factories import make_user
from tests.jobs.conftest import MakeRuntime, load, submit, wait_status

POLICY = LanePolicy(max_inflight=4, window=8, aging_seconds=3600.0)


async def make_broker(request: pytest.FixtureRequest, policy: LanePolicy) -> AsyncIterator[Broker]:
    if request.param == "inprocess":
        yield InProcessBroker(policy)
        return
    client = aioredis.from_url(request.getfixturevalue("redis_url"))
    broker = RedisStreamsBroker(client, policy)
    await broker.start()
    yield broker
    await client.aclose()


@pytest.fixture(params=["inprocess", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    async for made in make_broker(request, POLICY):
        yield made


@pytest.fixture(params=["inprocess", "redis"])
async def aging_broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    # One second of waiting counts as a class: a batch job queued long ago beats a fresh high one.
    async for made in make_broker(request, LanePolicy(max_inflight=4, window=2, aging_seconds=1.0)):
        yield made


def ids(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


async def dispatch(
    broker: Broker, jobs: list[uuid.UUID], payer: str, priority: int = Priority.NORMAL
) -> None:
    await broker.dispatch(jobs, [Lane(payer, priority)] * len(jobs))


async def drain(broker: Broker, rounds: int = 50, batch: int = 4) -> list[uuid.UUID]:
    """Fetch and acknowledge batch after batch until the broker is empty: the order jobs came out."""
    order: list[uuid.UUID] = []
    for _ in range(rounds):
        got = await broker.fetch("w", batch, 10)
        if not got:
            break
        order.extend(d.job_id for d in got)
        await broker.ack([d.ref for d in got])
    return order


async def test_a_flood_does_not_delay_another_payers_job_past_one_batch(broker: Broker) -> None:
    flood, single = ids(200), ids(1)
    await dispatch(broker, flood, "flooder")
    await dispatch(broker, single, "light")
    # FIFO would hand out all 200 first; here the light payer's job is in the first batch of 4
    # after the flooder's bound (4) is on the queue.
    first = await broker.fetch("w", 5, 10)
    assert single[0] in [d.job_id for d in first]
    await broker.ack([d.ref for d in first])
    rest = await drain(broker)
    assert sorted(rest + [d.job_id for d in first]) == sorted(flood + single)  # nothing lost
    assert rest == [j for j in flood if j not in {d.job_id for d in first}]  # the flood in its own order


async def test_a_payers_jobs_on_the_queue_are_bounded(broker: Broker) -> None:
    await dispatch(broker, ids(20), "flooder")
    got = await broker.fetch("w", 50, 10)
    assert len(got) == POLICY.max_inflight  # the rest wait in the lane
    assert {d.lane for d in got} == {"flooder"}
    assert (await broker.stats()).ready == 20 - POLICY.max_inflight
    await broker.ack([got[0].ref])  # one acknowledged: one more of the lane is promoted
    assert len(await broker.fetch("w", 50, 10)) == 1


async def test_round_robin_across_payers(broker: Broker) -> None:
    a, b, c = ids(6), ids(6), ids(6)
    await dispatch(broker, a, "a")
    await dispatch(broker, b, "b")
    await dispatch(broker, c, "c")
    order = await drain(broker, batch=3)
    assert sorted(order) == sorted(a + b + c)
    owner = {job: name for name, jobs in (("a", a), ("b", b), ("c", c)) for job in jobs}
    # After the first admissions, turns rotate: no payer gets two turns while another waits.
    tail = [owner[job] for job in order[8:]]
    for i in range(len(tail) - 2):
        assert len(set(tail[i : i + 3])) >= 2, tail


async def test_higher_classes_are_promoted_first(broker: Broker) -> None:
    fill = ids(8)
    for i, job in enumerate(fill):  # the window (8) full, each payer within its bound
        await dispatch(broker, [job], f"filler-{i}")
    low, high = ids(2), ids(2)
    await dispatch(broker, low, "batcher", Priority.BATCH)
    await dispatch(broker, high, "plan", Priority.HIGH)
    order = await drain(broker, batch=2)
    assert order[:8] == fill
    assert order[8:] == high + low


async def test_room_left_by_a_fetch_goes_to_jobs_already_waiting(broker: Broker) -> None:
    for i in range(8):  # the window (8) full
        await dispatch(broker, ids(1), f"filler-{i}")
    waiting = ids(1)
    await dispatch(broker, waiting, "early")
    assert len(await broker.fetch("w", 8, 10)) == 8  # room again, but nothing acknowledged yet
    late = ids(1)
    await dispatch(broker, late, "late")
    assert [d.job_id for d in await broker.fetch("w", 8, 10)] == waiting + late


async def test_aging_lets_a_long_waiting_class_overtake(aging_broker: Broker) -> None:
    await aging_broker.dispatch(ids(2), None)  # system jobs fill the window (2)
    low = ids(1)
    await dispatch(aging_broker, low, "batcher", Priority.BATCH)
    high = ids(1)
    await dispatch(aging_broker, high, "plan", Priority.HIGH)
    # Without aging HIGH would go first; waiting 3 s lifts BATCH (0) above it (0 + 3 > 2).
    order = await _after(aging_broker, wait=3.0)
    assert order.index(low[0]) < order.index(high[0])


async def _after(broker: Broker, wait: float) -> list[uuid.UUID]:
    if isinstance(broker, InProcessBroker):
        # Same policy, the clock moved instead of the test sleeping.
        lanes = broker.lanes
        for key in list(lanes._lanes):
            if key[0] == Priority.BATCH:
                lanes._lanes[key] = type(lanes._lanes[key])(
                    (job, since - wait) for job, since in lanes._lanes[key]
                )
    else:
        redis = broker.redis  # type: ignore[attr-defined]
        for key in await redis.keys("jobs:lane:0:*"):
            items = await redis.lrange(key, 0, -1)
            await redis.delete(key)
            for item in items:
                job, _, since = item.decode().partition("|")
                await redis.rpush(key, f"{job}|{float(since) - wait}")
    return await drain(broker, batch=1)


async def test_payers_at_their_bound_resume_after_acks(broker: Broker) -> None:
    first = ids(4)
    await dispatch(broker, first, "p")
    later = ids(3)
    await dispatch(broker, later, "p")
    got = await broker.fetch("w", 10, 10)
    assert [d.job_id for d in got] == first
    await broker.ack([d.ref for d in got])
    assert [d.job_id for d in await broker.fetch("w", 10, 10)] == later


async def test_lost_claim_acks_free_the_bound_too(broker: Broker) -> None:
    await dispatch(broker, ids(5), "p")
    got = await broker.fetch("w", 10, 10)
    assert len(got) == 4
    assert await broker.ack_owned("w", [got[0].ref]) == 1
    assert len(await broker.fetch("w", 10, 10)) == 1


async def test_the_tick_heals_a_leaked_count(broker: Broker) -> None:
    await dispatch(broker, ids(6), "p")
    got = await broker.fetch("w", 10, 10)
    assert len(got) == 4
    # The entries leave without their payers being counted out (as after a lost acknowledgement).
    if isinstance(broker, InProcessBroker):
        for d in got:
            broker._pending.pop(d.ref)
    else:
        await broker.redis.xack("jobs:stream", "jobs:group", *[d.ref for d in got])  # type: ignore[attr-defined]
        await broker.redis.xdel("jobs:stream", *[d.ref for d in got])  # type: ignore[attr-defined]
    assert await broker.fetch("w", 10, 10) == []  # stuck behind the leaked count...
    await broker.move_due()
    assert len(await broker.fetch("w", 10, 10)) == 2  # ...until the scheduler's tick


def test_effective_class_ages_linearly() -> None:
    assert effective_class(Priority.BATCH, 0, 10) == 0
    assert effective_class(Priority.BATCH, 25, 10) == 2.5
    assert effective_class(Priority.HIGH, 5, 0) == 2  # aging off


def test_lane_queue_skips_payers_that_filled_their_bound_through_another_class() -> None:
    admitted: list[tuple[uuid.UUID, str | None]] = []
    queue = LaneQueue(
        LanePolicy(max_inflight=1, window=1, aging_seconds=0), lambda j, p: admitted.append((j, p))
    )
    a, b, c = ids(3)
    now = time.time()
    assert queue.dispatch(a, Lane("p", Priority.HIGH), room=1, now=now)
    assert not queue.dispatch(b, Lane("p", Priority.BATCH), room=1, now=now)  # at its bound
    assert not queue.dispatch(c, Lane("q"), room=0, now=now)  # no room
    assert queue.promote(5, now) == 1  # q's job; p's waits for its bound
    assert [j for j, _ in admitted] == [a, c]
    queue.done(["p"])
    assert queue.promote(5, now) == 1
    assert [j for j, _ in admitted] == [a, c, b]


@pytest.fixture
async def fair_engine(make_runtime: MakeRuntime, backend: dict[str, str]) -> Runtime:
    return await make_runtime(**backend, job_max_inflight_per_user=2, worker_concurrency=1)


async def test_the_engine_runs_a_light_users_job_before_a_floods_tail(fair_engine: Runtime) -> None:
    """End to end, both backends: a worker started on 30 queued jobs of one user and then one of
    another runs the other user's job among the first few (FIFO would run it last)."""
    flooder, light = await make_user(fair_engine), await make_user(fair_engine)
    flood = [await submit(fair_engine, "t.noop", {"i": i}, user=flooder) for i in range(30)]
    single = await submit(fair_engine, "t.noop", {"light": True}, user=light)
    # A worker alone (the scheduler's start-up re-dispatch goes through the lanes too, but would
    # add a second entry per job: tests/jobs/test_redispatch.py covers it).
    worker = Worker(fair_engine)
    worker.pace.most = 0  # one job per claim: the claim order (started_at) is the dispatch order
    await worker.start()
    try:
        await wait_status(fair_engine, single.id, JobStatus.SUCCEEDED)
        for job in flood:
            await wait_status(fair_engine, job.id, JobStatus.SUCCEEDED)
    finally:
        await worker.stop()
    started = {job.id: (await load(fair_engine, job.id)).started_at for job in [*flood, single]}
    order = sorted(started, key=lambda job_id: started[job_id])  # type: ignore[arg-type,return-value]
    assert order.index(single.id) <= 4, order.index(single.id)
