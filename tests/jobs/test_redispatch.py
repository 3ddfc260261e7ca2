"""Re-dispatch keeps fairness (conjure.jobs.redispatch): a job going back to the queue (a retry,
the reconciler, a callback's resume, a DLQ re-drive, the embedded scheduler's start-up) keeps its
stored class and lane, and a plan's ``queue_lane`` decides the class at submit.

The runtimes here have a ready queue of one entry, so every later job waits in a lane and the
order they come out is the lanes' order: plain FIFO re-dispatch (what these paths did before)
fails each test.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import update

from conjure.billing.models import Subscription, SubscriptionStatus
from conjure.billing.plans import PlanCache, PlanLimits, queue_class
from conjure.console.service import retry_job
from conjure.jobs import dlq, scheduler
from conjure.jobs.broker import Broker, InProcessBroker, RedisStreamsBroker
from conjure.jobs.lanes import Lane, Priority
from conjure.jobs.models import JOBS, JobStatus
from conjure.jobs.scheduler import Scheduler
from conjure.kit.submit import SubmitOptions
from conjure.kit.submit import submit as kit_submit
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.factories import make_user
from tests.jobs.conftest import MakeRuntime, load, submit, wait_until

NARROW = {"job_dispatch_window": 1, "job_priority_aging_seconds": 3600.0, "job_max_inflight_per_user": 4}


@pytest.fixture
async def narrow(make_runtime: MakeRuntime, backend: dict[str, str]) -> Runtime:
    return await make_runtime(**backend, **NARROW)


async def out_order(broker: Broker, rounds: int = 100) -> list[tuple[uuid.UUID, str | None]]:
    """Fetch one, acknowledge it, again, until the broker is empty: (job, lane) in that order."""
    order: list[tuple[uuid.UUID, str | None]] = []
    for _ in range(rounds):
        got = await broker.fetch("w", 1, 10)
        if not got:
            break
        order.extend((d.job_id, d.lane) for d in got)
        await broker.ack([d.ref for d in got])
    return order


async def lose_and_fill(runtime: Runtime) -> uuid.UUID:
    """Lose every dispatch (as a flushed Redis or a restarted process does; the rows stay queued),
    then fill the one-entry ready queue with a system job, so re-dispatched jobs wait in lanes."""
    await out_order(runtime.broker)
    filler = uuid.uuid4()
    await runtime.broker.dispatch([filler], [None])
    return filler


@pytest.mark.parametrize("path", ["retry", "reconcile", "lookup"])
async def test_a_redispatched_job_keeps_its_class_and_lane(narrow: Runtime, path: str) -> None:
    normal = await submit(narrow, "t.noop", user=await make_user(narrow))
    high = await submit(
        narrow, "t.noop", user=await make_user(narrow), priority=Priority.HIGH, lane="station-7"
    )
    stored = await load(narrow, high.id)
    assert (stored.priority, stored.lane) == (Priority.HIGH, "station-7")
    filler = await lose_and_fill(narrow)
    if path == "retry":  # both left for a retry, now due (the delayed set)
        for job in (normal, high):
            await narrow.broker.dispatch_later(job.id, time.time() - 1)
        assert await narrow.broker.move_due() == 2
    elif path == "reconcile":
        assert await Scheduler(narrow).reconcile(bound_seconds=0) == 2
    else:  # a dispatch naming no lanes: a resumed parked job, a resumed job kind
        await narrow.broker.dispatch([normal.id, high.id])
    # Re-dispatched after the normal one, the high one still comes out first, in its lane.
    assert await out_order(narrow.broker) == [
        (filler, None),
        (high.id, "station-7"),
        (normal.id, str(normal.user_id)),
    ]


async def test_after_redis_lost_its_data_the_reconciler_restores_the_classes(
    make_runtime: MakeRuntime, pg_url: str, redis_url: str
) -> None:
    runtime = await make_runtime(database_url=pg_url, redis_url=redis_url, **NARROW)
    normal = await submit(runtime, "t.noop", user=await make_user(runtime))
    high = await submit(runtime, "t.noop", user=await make_user(runtime), priority=Priority.HIGH)
    assert runtime.redis is not None
    await runtime.redis.flushall()  # the stream, the lanes and the group are gone
    await runtime.broker.ensure_group()  # type: ignore[attr-defined]  # as a worker's next fetch does
    filler = uuid.uuid4()
    await runtime.broker.dispatch([filler], [None])
    assert await Scheduler(runtime).reconcile(bound_seconds=0) == 2
    assert [job for job, _ in await out_order(runtime.broker)] == [filler, high.id, normal.id]


@pytest.mark.parametrize("how", ["dlq_redrive", "console_retry"])
async def test_an_operator_redrive_runs_in_the_high_class(narrow: Runtime, how: str) -> None:
    waiting = await submit(narrow, "t.noop", user=await make_user(narrow))
    dead = await submit(narrow, "t.noop", user=await make_user(narrow), priority=Priority.BATCH)
    status = JobStatus.DLQ if how == "dlq_redrive" else JobStatus.FAILED
    async with narrow.db.session() as session:
        await session.execute(update(JOBS).where(JOBS.c.id == dead.id).values(status=status))
    filler = await lose_and_fill(narrow)
    await narrow.broker.dispatch([waiting.id])  # back in its lane first, in its class (normal)
    async with narrow.db.session() as session:
        if how == "dlq_redrive":
            assert (await dlq.redrive(session, narrow, [dead.id])).redriven == [dead.id]
        else:
            await retry_job(session, narrow, dead.id, free=True)
    assert (await load(narrow, dead.id)).priority == Priority.HIGH  # stored: a later retry keeps it
    assert [job for job, _ in await out_order(narrow.broker)] == [filler, dead.id, waiting.id]


async def test_a_reconciler_pass_takes_each_payers_oldest_in_turn(
    make_runtime: MakeRuntime, backend: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood's lost backlog does not fill a pass: the light payer's lost job is in the first
    one, and comes out within the flood's in-flight bound."""
    runtime = await make_runtime(**backend, job_max_inflight_per_user=2, job_priority_aging_seconds=3600.0)
    flooder, light = await make_user(runtime), await make_user(runtime)
    flood = [await submit(runtime, "t.noop", {"i": i}, user=flooder) for i in range(12)]
    single = await submit(runtime, "t.noop", {"light": True}, user=light)
    await out_order(runtime.broker)  # every dispatch lost
    monkeypatch.setattr(scheduler, "BATCH", 5)  # a pass smaller than the flood
    assert await Scheduler(runtime).reconcile(bound_seconds=0) == 5
    order = [job for job, _ in await out_order(runtime.broker)]
    assert single.id in order[:3], order  # oldest-first would have re-dispatched 5 of the flood only
    assert set(order) <= {job.id for job in flood} | {single.id}


async def test_the_embedded_start_up_redispatch_goes_through_the_lanes(
    make_runtime: MakeRuntime, sqlite_url: str
) -> None:
    """A restarted embedded process (a new in-process queue) takes every queued job back through
    the lanes: the light user's job is not behind the flood."""
    before = await make_runtime(database_url=sqlite_url, **NARROW)
    flooder, light = await make_user(before), await make_user(before)
    for i in range(12):
        await submit(before, "t.noop", {"i": i}, user=flooder)
    single = await submit(before, "t.noop", {"light": True}, user=light)
    after = await make_runtime(database_url=sqlite_url, **{**NARROW, "job_dispatch_window": 500})
    housekeeping = Scheduler(after)
    await housekeeping.start()  # its first pass re-dispatches every queued job at once

    async def all_back() -> bool:
        return (await after.broker.stats()).ready >= 13

    try:
        await wait_until(all_back, 10, "the start-up re-dispatch")
    finally:
        await housekeeping.stop()
    order = [job for job, _ in await out_order(after.broker)]
    assert order.index(single.id) <= NARROW["job_max_inflight_per_user"], order


async def _subscribe(runtime: Runtime, user_id: uuid.UUID, plan: str) -> None:
    async with runtime.db.session() as session:
        session.add(
            Subscription(
                user_id=user_id,
                stripe_subscription_id=f"sub_{uuid.uuid4().hex[:12]}",
                stripe_customer_id="cus_test",
                plan_id=plan,
                period_plan_id=plan,
                status=SubscriptionStatus.ACTIVE,
            )
        )


async def test_a_priority_plans_job_overtakes_a_normal_one(
    narrow: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    free, pro = await make_user(narrow), await make_user(narrow)
    await _subscribe(narrow, pro.id, "pro")  # queue_lane "priority"
    filler = uuid.uuid4()
    await narrow.broker.dispatch([filler], [None])
    first = await kit_submit(narrow, SubmitOptions(), user_id=free.id, kind="t.noop", payload={"n": 1})
    second = await kit_submit(narrow, SubmitOptions(), user_id=pro.id, kind="t.noop", payload={"n": 2})
    assert [(await load(narrow, j.id)).priority for j in (first, second)] == [Priority.NORMAL, Priority.HIGH]
    assert [job for job, _ in await out_order(narrow.broker)] == [filler, second.id, first.id]

    # The plan was read once; the next submit's class comes from the process's cache, no read.
    async def no_read(*_: Any, **__: Any) -> None:
        raise AssertionError("the plan was read again")

    monkeypatch.setattr("conjure.billing.plans.plan_limits_for", no_read)
    again = await kit_submit(narrow, SubmitOptions(), user_id=pro.id, kind="t.noop", payload={"n": 3})
    assert (await load(narrow, again.id)).priority == Priority.HIGH
    # A route's own class wins over the plan's.
    batch = SubmitOptions(priority=Priority.BATCH)
    third = await kit_submit(narrow, batch, user_id=pro.id, kind="t.noop", payload={"n": 4})
    assert (await load(narrow, third.id)).priority == Priority.BATCH


@pytest.mark.parametrize(
    ("lane", "expected"),
    [
        ("priority", Priority.HIGH),
        ("fast", Priority.HIGH),
        ("standard", Priority.NORMAL),
        (None, Priority.NORMAL),
        ("batch", Priority.BATCH),
        ("warp", Priority.NORMAL),
        (3, Priority.NORMAL),
    ],
)
def test_queue_class_by_plan_lane(lane: Any, expected: Priority) -> None:
    limits = {} if lane is None else {"queue_lane": lane}
    assert queue_class(PlanLimits("p", "P", limits)) == expected


def test_the_plan_cache_expires_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("conjure.billing.plans.time.monotonic", lambda: clock[0])
    cache = PlanCache(Settings(plan_cache_seconds=30), size=2)
    users = [uuid.uuid4() for _ in range(3)]
    for user in users:
        cache.keep(user, PlanLimits("pro", "Pro"))
    assert cache.cached(users[0]) is None  # the oldest went when a third came
    assert cache.cached(users[2]) is not None
    clock[0] += 31
    assert cache.cached(users[2]) is None  # expired
    off = PlanCache(Settings(plan_cache_seconds=0))
    off.keep(users[0], PlanLimits("pro", "Pro"))
    assert off.cached(users[0]) is None


@pytest.mark.parametrize("kind", ["inprocess", "redis"])
async def test_a_retry_whose_lane_lookup_fails_stays_due(request: pytest.FixtureRequest, kind: str) -> None:
    """The database away when a retry falls due: nothing moves, the next tick moves it."""
    failing = [True]

    async def stored(job_ids: Sequence[uuid.UUID]) -> list[Lane | None]:
        if failing[0]:
            raise ConnectionError("database away")
        return [Lane("payer", Priority.HIGH) for _ in job_ids]

    client = None
    if kind == "inprocess":
        broker: Broker = InProcessBroker(stored=stored)
    else:
        client = aioredis.from_url(request.getfixturevalue("redis_url"))
        broker = RedisStreamsBroker(client, stored=stored)
        await broker.start()
    try:
        job = uuid.uuid4()
        await broker.dispatch_later(job, time.time() - 1)
        with pytest.raises(ConnectionError):
            await broker.move_due()
        assert (await broker.stats()).delayed == 1
        failing[0] = False
        assert await broker.move_due() == 1
        assert [(d.job_id, d.lane) for d in await broker.fetch("w", 5, 10)] == [(job, "payer")]
    finally:
        if client is not None:
            await client.aclose()
