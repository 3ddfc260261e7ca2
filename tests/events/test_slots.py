"""The per-user cap on open streams: the same behaviour in one process and across processes on Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from conjure.events.memory import InProcessConnectionSlots
from conjure.events.slots import RedisConnectionSlots
from conjure.events.types import ConnectionSlots

MakeSlots = Callable[[int], ConnectionSlots]


@pytest.fixture(params=["inprocess", "redis"])
async def slots(request: pytest.FixtureRequest) -> AsyncIterator[ConnectionSlots]:
    if request.param == "inprocess":
        yield InProcessConnectionSlots(2)
        return
    client = aioredis.from_url(request.getfixturevalue("redis_url"))
    redis_slots = RedisConnectionSlots(client, 2, lease_seconds=30)
    yield redis_slots
    await redis_slots.close()
    await client.aclose()


async def test_the_cap_holds_and_a_released_slot_is_free_again(slots: ConnectionSlots) -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    first, second = await slots.acquire(user), await slots.acquire(user)
    assert first is not None
    assert second is not None
    assert first != second
    assert await slots.acquire(user) is None  # the third
    assert await slots.held(user) == 2
    assert await slots.acquire(other) is not None  # caps are per user
    await slots.release(user, first)
    assert await slots.held(user) == 1
    third = await slots.acquire(user)
    assert third is not None
    await slots.release(user, second)
    await slots.release(user, third)
    assert await slots.held(user) == 0


async def test_releasing_twice_frees_one_slot_only(slots: ConnectionSlots) -> None:
    user = uuid.uuid4()
    lease = await slots.acquire(user)
    assert lease is not None
    assert await slots.acquire(user) is not None
    await slots.release(user, lease)
    await slots.release(user, lease)
    assert await slots.held(user) == 1


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[list[aioredis.Redis]]:
    made = [aioredis.from_url(redis_url) for _ in range(2)]
    yield made
    for client in made:
        await client.aclose()


async def test_two_processes_share_the_cap(clients: list[aioredis.Redis]) -> None:
    api1 = RedisConnectionSlots(clients[0], 3, lease_seconds=30)
    api2 = RedisConnectionSlots(clients[1], 3, lease_seconds=30)
    user = uuid.uuid4()
    # Both race for the slots at once: exactly three leases exist afterwards.
    leases = await asyncio.gather(*(slots.acquire(user) for slots in (api1, api2) * 4))
    assert len([lease for lease in leases if lease is not None]) == 3
    assert await api1.held(user) == await api2.held(user) == 3
    await api1.close()
    await api2.close()


async def test_a_crashed_process_frees_its_slots_when_its_leases_expire(
    clients: list[aioredis.Redis],
) -> None:
    crashed = RedisConnectionSlots(clients[0], 2, lease_seconds=0.6)
    alive = RedisConnectionSlots(clients[1], 2, lease_seconds=0.6)
    user = uuid.uuid4()
    assert await crashed.acquire(user) is not None
    assert await crashed.acquire(user) is not None
    await crashed.close()  # stops renewing without releasing: what a killed process does
    assert await alive.acquire(user) is None
    await asyncio.sleep(0.8)
    assert await alive.held(user) == 0
    assert await alive.acquire(user) is not None
    await alive.close()


async def test_a_live_process_keeps_its_slots_past_the_lease_time(clients: list[aioredis.Redis]) -> None:
    holder = RedisConnectionSlots(clients[0], 1, lease_seconds=0.6)
    other = RedisConnectionSlots(clients[1], 1, lease_seconds=0.6)
    user = uuid.uuid4()
    assert await holder.acquire(user) is not None
    await asyncio.sleep(1.5)  # two and a half lease lifetimes, renewed meanwhile
    assert await other.acquire(user) is None
    assert await other.held(user) == 1
    await holder.close()
    await other.close()
