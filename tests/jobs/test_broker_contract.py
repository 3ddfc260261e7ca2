"""One contract, two brokers: the in-process broker and Redis Streams behave the same."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from conjure.jobs import keys
from conjure.jobs.broker import Broker, InProcessBroker, RedisStreamsBroker


@pytest.fixture(params=["inprocess", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    if request.param == "inprocess":
        yield InProcessBroker()
        return
    client = aioredis.from_url(request.getfixturevalue("redis_url"))
    redis_broker = RedisStreamsBroker(client)
    await redis_broker.start()
    yield redis_broker
    await client.aclose()


def ids(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


async def test_dispatch_fetch_in_batches_and_ack(broker: Broker) -> None:
    jobs = ids(5)
    await broker.dispatch(jobs)
    first = await broker.fetch("w1", 3, 100)
    second = await broker.fetch("w2", 10, 100)
    assert [d.job_id for d in first + second] == jobs  # FIFO, each once
    assert len(first) == 3
    assert (await broker.stats()).pending == 5
    await broker.ack([d.ref for d in first + second])
    stats = await broker.stats()
    assert (stats.ready, stats.pending) == (0, 0)
    assert await broker.fetch("w1", 10, 50) == []


async def test_fetch_blocks_until_dispatch(broker: Broker) -> None:
    job = uuid.uuid4()

    async def later() -> None:
        await asyncio.sleep(0.1)
        await broker.dispatch([job])

    task = asyncio.create_task(later())
    got = await broker.fetch("w1", 1, 2000)
    await task
    assert [d.job_id for d in got] == [job]


async def test_delayed_dispatch_moves_when_due(broker: Broker) -> None:
    soon, later = ids(2)
    now = time.time()
    await broker.dispatch_later(soon, now + 0.05)
    await broker.dispatch_later(later, now + 60)
    assert await broker.move_due(now) == 0
    assert (await broker.stats()).delayed == 2
    assert await broker.move_due(now + 1) == 1
    assert [d.job_id for d in await broker.fetch("w1", 10, 100)] == [soon]
    await broker.forget_delayed(later)
    assert await broker.move_due(now + 120) == 0


async def test_reclaim_takes_idle_entries_and_touch_keeps_them(broker: Broker) -> None:
    busy, dead = ids(2)
    await broker.dispatch([busy, dead])
    taken = await broker.fetch("w1", 2, 100)
    assert await broker.reclaim("w2", 10_000, 10) == []  # not idle long enough
    await asyncio.sleep(0.25)
    await broker.touch("w1", [taken[0].ref])  # w1 still works on `busy`
    reclaimed = await broker.reclaim("w2", 200, 10)
    assert [d.job_id for d in reclaimed] == [dead]
    assert reclaimed[0].ref == taken[1].ref
    await broker.ack([d.ref for d in taken])
    assert (await broker.stats()).pending == 0


async def test_ack_owned_leaves_entries_another_consumer_took_over(broker: Broker) -> None:
    await broker.dispatch(ids(2))
    taken = await broker.fetch("zombie", 2, 100)
    [rescued] = await broker.reclaim("rescuer", 0, 1)  # the same entry id, now the rescuer's
    assert rescued.ref == taken[0].ref
    assert await broker.ack_owned("zombie", [d.ref for d in taken]) == 1  # only its own
    assert (await broker.stats()).pending == 1
    assert await broker.ack_owned("rescuer", [rescued.ref]) == 1
    assert (await broker.stats()).pending == 0


async def test_dead_letters(broker: Broker) -> None:
    a, b, c = ids(3)
    for job in (a, b, c):
        await broker.dead_letter(job, {"kind": "t.x", "code": "boom"})
    assert (await broker.stats()).dead_letters == 3
    assert await broker.drop_dead_letters([a]) == 1
    assert await broker.drop_dead_letters(None) == 2
    assert (await broker.stats()).dead_letters == 0


async def test_events_reach_subscribers(broker: Broker) -> None:
    job = uuid.uuid4()
    async with broker.events.subscribe(job) as subscription:
        await asyncio.sleep(0.05)
        await broker.events.publish(job, {"seq": 1, "type": "queued"})
        await broker.events.publish_many(
            [(uuid.uuid4(), {"seq": 9}), (job, {"seq": 2, "type": "processing"})]
        )
        got = [await subscription.get(2.0), await subscription.get(2.0)]
    assert [e["seq"] for e in got if e] == [1, 2]


async def test_redis_flushed_group_is_recreated(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    broker = RedisStreamsBroker(client)
    await broker.start()
    await client.flushall()  # what a Redis that restarted without its data looks like
    assert await broker.fetch("w1", 10, 50) == []  # NOGROUP handled: group recreated
    job = uuid.uuid4()
    await broker.dispatch([job])
    assert [d.job_id for d in await broker.fetch("w1", 10, 100)] == [job]
    assert await client.exists(keys.STREAM)
    await client.aclose()


async def test_redis_ack_sends_no_script_check_and_survives_a_script_flush(redis_url: str) -> None:
    """The acknowledgement's script rides in its pipeline as a bare EVALSHA: no SCRIPT EXISTS
    round trip first; a Redis that lost its scripts (restart, SCRIPT FLUSH) still acknowledges."""
    client = aioredis.from_url(redis_url)
    broker = RedisStreamsBroker(client)
    await broker.start()
    jobs = ids(2)
    await broker.dispatch(jobs)
    first, second = await broker.fetch("w1", 10, 100)
    await client.config_resetstat()
    await broker.ack([first.ref], [(first.job_id, {"seq": 2, "type": "succeeded"})])
    stats = await client.info("commandstats")
    assert "cmdstat_script|exists" not in stats
    assert stats["cmdstat_evalsha"]["calls"] == 1
    await client.script_flush()
    await broker.ack([second.ref])
    assert (await broker.stats()).pending == 0
    assert await client.xlen(keys.STREAM) == 0
    await client.aclose()


async def test_redis_ack_riders_are_best_effort(redis_url: str) -> None:
    """Commands riding in the acknowledgement's pipeline run with it; their failure is theirs."""
    client = aioredis.from_url(redis_url)
    broker = RedisStreamsBroker(client)
    await broker.start()
    await broker.dispatch(ids(1))
    [delivery] = await broker.fetch("w1", 10, 100)
    await broker.ack(
        [delivery.ref],
        riders=[lambda pipe: pipe.set("rode", "1"), lambda pipe: pipe.incr(keys.STREAM)],  # WRONGTYPE
    )
    assert (await broker.stats()).pending == 0
    assert await client.get("rode") == b"1"
    await client.aclose()


async def test_redis_config_warnings(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    warnings = await RedisStreamsBroker(client).config_warnings()
    await client.aclose()
    # The test server runs without appendonly and with noeviction.
    assert len(warnings) == 1
    assert "appendonly" in warnings[0]
