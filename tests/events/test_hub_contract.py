"""One contract, two hubs: the in-process hub and Redis streams deliver users' events the same way."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
import redis.asyncio as aioredis

from conjure.events import keys
from conjure.events.memory import InProcessUserEventHub
from conjure.events.redis_hub import RedisUserEventHub
from conjure.events.types import START, EventId, NewEvent, Retention, Subscription, UserEvent, UserEventHub

MakeHub = Callable[[Retention], Awaitable[UserEventHub]]
WAIT = 5.0


@pytest.fixture(params=["inprocess", "redis"])
async def make_hub(request: pytest.FixtureRequest) -> AsyncIterator[MakeHub]:
    made: list[UserEventHub] = []
    clients: list[aioredis.Redis] = []

    async def make(retention: Retention) -> UserEventHub:
        hub: UserEventHub
        if request.param == "inprocess":
            hub = InProcessUserEventHub(retention)
        else:
            client = aioredis.from_url(request.getfixturevalue("redis_url"))
            clients.append(client)
            hub = RedisUserEventHub(client, retention, block_seconds=1.0)
        made.append(hub)
        return hub

    yield make
    for hub in made:
        await hub.close()
    for client in clients:
        await client.aclose()


@pytest.fixture
async def hub(make_hub: MakeHub) -> UserEventHub:
    return await make_hub(Retention(count=100, seconds=60))


async def publish(
    hub: UserEventHub, user: uuid.UUID, *numbers: int, type_: str = "test.tick"
) -> list[UserEvent]:
    return await hub.publish_many([NewEvent(user, type_, {"n": n}) for n in numbers])


async def take(subscription: Subscription, count: int) -> list[UserEvent]:
    got = []
    for _ in range(count):
        event = await subscription.next(WAIT)
        assert event is not None, f"only {len(got)} of {count} events arrived"
        got.append(event)
    return got


def numbers(events: list[UserEvent]) -> list[int]:
    return [event.payload()["n"] for event in events]


async def test_published_events_reach_a_follower_in_order(hub: UserEventHub) -> None:
    user = uuid.uuid4()
    async with hub.subscribe(user, None) as subscription:
        assert await subscription.next(0.2) is None  # nothing yet
        published = await publish(hub, user, 1, 2, 3)
        got = await take(subscription, 3)
        later = await publish(hub, user, 4)
        got += await take(subscription, 1)
    assert numbers(got) == [1, 2, 3, 4]
    assert [e.id for e in got] == [e.id for e in published + later]
    assert [e.id for e in got] == sorted({e.id for e in got})  # strictly increasing
    assert got[0].type == "test.tick"
    assert got[0].user_id == user


async def test_a_live_follower_does_not_get_the_past(hub: UserEventHub) -> None:
    user = uuid.uuid4()
    await publish(hub, user, 1, 2)
    async with hub.subscribe(user, None) as subscription:
        await publish(hub, user, 3)
        assert numbers(await take(subscription, 1)) == [3]
        assert await subscription.next(0.2) is None


async def test_top_is_the_newest_event_and_following_after_it_misses_nothing(hub: UserEventHub) -> None:
    user = uuid.uuid4()
    assert await hub.top(user) == EventId(0, 0)  # nothing published yet
    assert await hub.top(user) == EventId(0, 0)
    published = await publish(hub, user, 1, 2)
    top = await hub.top(user)
    assert top == published[-1].id
    await publish(hub, user, 3)  # after "now" was taken, before the follower subscribed
    async with hub.subscribe(user, top) as subscription:
        assert numbers(await take(subscription, 1)) == [3]
        assert await subscription.next(0.2) is None


async def test_replay_after_last_event_id_then_follow(hub: UserEventHub) -> None:
    user = uuid.uuid4()
    first = await publish(hub, user, 1, 2, 3, 4)
    async with hub.subscribe(user, first[1].id) as subscription:
        assert numbers(await take(subscription, 2)) == [3, 4]  # what was missed
        await publish(hub, user, 5)
        assert numbers(await take(subscription, 1)) == [5]  # then live, each once
        assert await subscription.next(0.2) is None
    assert numbers(await hub.replay(user, START)) == [1, 2, 3, 4, 5]
    assert numbers(await hub.replay(user, first[3].id)) == [5]


async def test_an_id_from_the_future_follows_from_now(hub: UserEventHub) -> None:
    """A bogus or clock-skewed Last-Event-ID must not silence the stream until that time comes."""
    user = uuid.uuid4()
    [seen] = await publish(hub, user, 1)
    future = EventId(seen.id.ms + 10**9, 0)
    async with hub.subscribe(user, future) as subscription:
        await publish(hub, user, 2)
        assert numbers(await take(subscription, 1)) == [2]


async def test_every_follower_of_a_user_gets_every_event(hub: UserEventHub) -> None:
    user = uuid.uuid4()
    async with hub.subscribe(user, None) as one, hub.subscribe(user, None) as two:
        await publish(hub, user, 1, 2)
        assert numbers(await take(one, 2)) == [1, 2]
        assert numbers(await take(two, 2)) == [1, 2]


async def test_users_never_see_each_others_events(hub: UserEventHub) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    await publish(hub, bob, 100)
    async with hub.subscribe(alice, START) as subscription:
        await publish(hub, bob, 101, 102)
        await publish(hub, alice, 1)
        await publish(hub, bob, 103)
        assert numbers(await take(subscription, 1)) == [1]
        assert await subscription.next(0.3) is None
    assert numbers(await hub.replay(alice, START)) == [1]
    assert numbers(await hub.replay(bob, START)) == [100, 101, 102, 103]


async def test_replay_keeps_only_the_last_count_events(make_hub: MakeHub) -> None:
    hub = await make_hub(Retention(count=3, seconds=60))
    user = uuid.uuid4()
    await publish(hub, user, *range(1, 9))
    assert numbers(await hub.replay(user, START)) == [6, 7, 8]
    async with hub.subscribe(user, START) as subscription:
        assert numbers(await take(subscription, 3)) == [6, 7, 8]


async def test_replay_drops_events_older_than_the_retention_time(make_hub: MakeHub) -> None:
    hub = await make_hub(Retention(count=100, seconds=1.0))
    user = uuid.uuid4()
    await publish(hub, user, 1, 2)
    await asyncio.sleep(1.2)
    await publish(hub, user, 3)
    assert numbers(await hub.replay(user, START)) == [3]


async def test_a_follower_that_falls_behind_catches_up_from_the_store(make_hub: MakeHub) -> None:
    hub = await make_hub(Retention(count=5000, seconds=60))
    user = uuid.uuid4()
    async with hub.subscribe(user, None) as subscription:
        assert await subscription.next(0.05) is None
        # More than a follower's queue holds, published while nobody reads.
        await hub.publish_many([NewEvent(user, "test.tick", {"n": n}) for n in range(1, 1501)])
        got = await take(subscription, 1500)
        assert await subscription.next(0.2) is None
    assert numbers(got) == list(range(1, 1501))  # each once, in order, none lost


async def test_ids_parse_back_from_their_text(hub: UserEventHub) -> None:
    user = uuid.uuid4()
    [event] = await publish(hub, user, 1)
    assert EventId.parse(str(event.id)) == event.id
    assert EventId.parse("12") == EventId(12, 0)
    assert EventId.parse("not-an-id") is None


# Redis only: several processes.


async def test_redis_delivers_across_processes(redis_url: str) -> None:
    """A follower in this process gets what another OS process publishes (a worker, another API)."""
    client = aioredis.from_url(redis_url)
    hub = RedisUserEventHub(client, Retention(count=100, seconds=60), block_seconds=1.0)
    user = uuid.uuid4()
    script = (
        "import asyncio, sys, uuid, redis.asyncio as r\n"
        "from conjure.events.redis_hub import RedisUserEventHub\n"
        "from conjure.events.types import NewEvent, Retention\n"
        "async def main():\n"
        "    c = r.from_url(sys.argv[1])\n"
        "    hub = RedisUserEventHub(c, Retention(100, 60))\n"
        "    user = uuid.UUID(sys.argv[2])\n"
        "    await hub.publish_many([NewEvent(user, 'job.succeeded', {'n': n}) for n in (1, 2)])\n"
        "    await c.aclose()\n"
        "asyncio.run(main())\n"
    )
    try:
        async with hub.subscribe(user, None) as subscription:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", script, redis_url, str(user), env={**os.environ}
            )
            assert await proc.wait() == 0
            got = await take(subscription, 2)
        assert numbers(got) == [1, 2]
        assert {e.type for e in got} == {"job.succeeded"}
    finally:
        await hub.close()
        await client.aclose()


async def test_redis_hubs_share_streams_and_one_reader_serves_many_users(redis_url: str) -> None:
    """Two processes' hubs (own connections): each follows users the other publishes to."""
    one, two = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    retention = Retention(count=100, seconds=60)
    api, worker = RedisUserEventHub(one, retention, block_seconds=5.0), RedisUserEventHub(two, retention)
    users = [uuid.uuid4() for _ in range(20)]
    try:
        async with AsyncExitStack() as stack:
            subs = [await stack.enter_async_context(api.subscribe(user, None)) for user in users]
            started = time.monotonic()
            await worker.publish_many([NewEvent(user, "test.tick", {"n": i}) for i, user in enumerate(users)])
            for i, sub in enumerate(subs):
                assert numbers(await take(sub, 1)) == [i]
            # Woken at once, not after the 5 s block ran out.
            assert time.monotonic() - started < 2.0
            clients = await one.client_list()
            # One blocked XREAD for the twenty users (plus at most a pooled connection or two).
            assert len([c for c in clients if c.get("cmd") == "xread"]) == 1
    finally:
        await api.close()
        await worker.close()
        assert not await two.exists(api._wake_key)  # a process cleans its wake stream up
        await one.aclose()
        await two.aclose()


async def test_redis_streams_expire_and_stay_trimmed(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    hub = RedisUserEventHub(client, Retention(count=10, seconds=30))
    user = uuid.uuid4()
    try:
        await hub.publish_many([NewEvent(user, "test.tick", {"n": n}) for n in range(1000)])
        key = keys.user_stream(user)
        assert 0 < await client.ttl(key) <= 30
        # Approximate trimming keeps a little more than the count, never the whole history.
        assert await client.xlen(key) < 300
    finally:
        await hub.close()
        await client.aclose()
