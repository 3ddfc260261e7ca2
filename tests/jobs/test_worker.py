"""The worker's own parts: its bound on concurrent handlers (``Slots``) and when a claimed job's
``processing`` event is published (with its final event when it ends quickly, else on its own
while it still runs), on both backends."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import update

from conjure.jobs import runner
from conjure.jobs.events import Event
from conjure.jobs.models import JOBS
from conjure.jobs.worker import Slots
from conjure.runtime import Runtime
from tests.jobs.conftest import running, submit, wait_status


async def test_slots_bound_holders_and_hand_over_in_arrival_order() -> None:
    slots = Slots(2)
    inside: list[int] = []
    order: list[int] = []
    gate = asyncio.Event()

    async def hold(n: int) -> None:
        async with slots:
            inside.append(n)
            order.append(n)
            await gate.wait()
            inside.remove(n)

    tasks = [asyncio.create_task(hold(n)) for n in range(6)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert sorted(inside) == [0, 1]  # two at once, the others wait
    gate.set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4, 5]  # a freed slot goes to the longest waiter
    async with slots, slots:  # both slots are free again: nothing leaked
        pass


async def test_a_cancelled_waiter_takes_no_slot_with_it() -> None:
    slots = Slots(1)
    release = asyncio.Event()

    async def hold() -> None:
        async with slots:
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(hold())  # waits for the slot
    await asyncio.sleep(0)
    waiting.cancel()
    release.set()
    await holder
    assert waiting.cancelled()
    # Cancelled just as the slot was handed to it: the slot is passed on, not lost.
    release.clear()
    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    handed = asyncio.create_task(hold())
    await asyncio.sleep(0)
    release.set()
    await holder  # hands the slot to ``handed``, which has not run yet
    handed.cancel()
    await asyncio.gather(handed, return_exceptions=True)
    await asyncio.wait_for(slots.__aenter__(), 1)  # the slot is free
    await slots.__aexit__(None, None, None)


async def _events(runtime: Runtime, job_id: uuid.UUID, until: str, seen: list[tuple[str, float]]) -> None:
    async with runtime.broker.events.subscribe(job_id) as events:
        while True:
            event: dict[str, Any] | None = await events.get(30.0)
            assert event is not None, f"no {until} event"
            seen.append((event["type"], time.monotonic()))
            if event["type"] == until:
                return


async def test_processing_goes_out_before_the_final_event_for_fast_and_slow_jobs(
    engine: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    acked: dict[str, list[str]] = {}  # job id -> types of its events sent with the acknowledgement
    original = engine.broker.ack

    async def ack(refs: Sequence[str], events: Sequence[tuple[uuid.UUID, Event]] = ()) -> None:
        for job_id, event in events:
            acked.setdefault(str(job_id), []).append(event["type"])
        await original(refs, events)

    monkeypatch.setattr(engine.broker, "ack", ack)
    # Wider than the default 20 ms, so that a loaded machine's slow settle cannot pass it.
    monkeypatch.setattr(runner, "ANNOUNCE_AFTER", 0.3)
    fast = await submit(engine, "t.noop")
    slow = await submit(engine, "t.sleepy", {"seconds": 1.2})
    fast_seen: list[tuple[str, float]] = []
    slow_seen: list[tuple[str, float]] = []
    listeners = [
        asyncio.create_task(_events(engine, fast.id, "succeeded", fast_seen)),
        asyncio.create_task(_events(engine, slow.id, "succeeded", slow_seen)),
    ]
    await asyncio.sleep(0.2)  # subscribed before any worker runs
    async with running(engine):
        await asyncio.wait_for(asyncio.gather(*listeners), 30)
        await wait_status(engine, slow.id, "succeeded")
    # A fast job's processing event is sent with its final one, in order.
    assert [kind for kind, _ in fast_seen] == ["processing", "succeeded"]
    # A slow job's is sent on its own soon after the claim, while the handler still runs.
    assert [kind for kind, _ in slow_seen] == ["processing", "succeeded"]
    assert acked[str(fast.id)] == ["processing", "succeeded"]  # one round trip for both
    assert acked[str(slow.id)] == ["succeeded"]
    (_, processing_at), (_, succeeded_at) = slow_seen
    assert succeeded_at - processing_at > 1.2 - 0.3 - 0.3


async def test_stopping_never_cancels_a_claim_in_its_transaction(
    engine: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker stopping while its fetch loop is claiming lets the claim finish: a cancel landing in
    the claim's transaction (or its rollback) could leave a SQLite connection holding the write
    lock, and every later write would wait for it in vain. The claimed job then runs and ends."""
    from conjure.jobs.store.pick import store_for
    from conjure.jobs.worker import Worker

    store = type(store_for(engine.db))
    claiming, release = asyncio.Event(), asyncio.Event()
    claim = store.claim

    async def slow_claim(self: Any, *args: Any, **kwargs: Any) -> Any:
        claiming.set()
        await release.wait()
        return await claim(self, *args, **kwargs)

    monkeypatch.setattr(store, "claim", slow_claim)
    worker = Worker(engine)
    await worker.start()
    job = await submit(engine, "t.noop")
    await asyncio.wait_for(claiming.wait(), 10)
    stopping = asyncio.create_task(worker.stop(grace=10))
    await asyncio.sleep(0.05)
    assert not stopping.done()  # waiting for the claim, not cancelling it
    release.set()
    await asyncio.wait_for(stopping, 20)
    await wait_status(engine, job.id, "succeeded")
    async with engine.db.session() as session:  # the database takes writes
        await session.execute(update(JOBS).where(JOBS.c.id == job.id).values(updated_at=JOBS.c.updated_at))
