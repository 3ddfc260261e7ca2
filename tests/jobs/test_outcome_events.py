"""Settling tells each job's owner how it ended (``job.*``, plus what its ``on_success`` returned),
only for writes that committed: not for a lost claim, not for a hook whose transaction rolled back,
not for a retry (both backends)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conjure.events.types import START, NewEvent
from conjure.jobs.attempt import Outcome
from conjure.jobs.runner import Runner
from conjure.runtime import Runtime
from conjure.users.models import User
from tests.factories import make_user
from tests.jobs.conftest import claim_all, expire_lease, submit


async def sent_to(runtime: Runtime, user: User) -> list[tuple[str, dict[str, Any]]]:
    return [(e.type, e.payload()) for e in await runtime.user_events.replay(user.id, START)]


async def test_owners_hear_of_committed_outcomes_only(
    engine: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [await make_user(engine, stars=1) for _ in range(6)]
    jobs = [
        await submit(engine, "t.paid_hooked", {"explode": False}, user=users[0]),
        await submit(engine, "t.paid_hooked", {"explode": True}, user=users[1]),  # its hook fails
        await submit(engine, "t.paid", {"n": 2}, user=users[2]),  # its claim is lost
        await submit(engine, "t.bad_input", {}, user=users[3]),
        await submit(engine, "t.flaky", {"fail_times": 1}, user=users[4]),  # retried later
        await submit(engine, "t.paid_hooked", {"bad_event": True}, user=users[5]),  # a buggy hook
    ]
    publishes: list[list[NewEvent]] = []
    publish_many = engine.user_events.publish_many

    async def spy(events: list[NewEvent]) -> Any:
        publishes.append(list(events))
        return await publish_many(events)

    monkeypatch.setattr(engine.user_events, "publish_many", spy)
    runner, rescuer = Runner(engine, "worker-a"), Runner(engine, "rescuer")
    claims = await claim_all(runner, [job.id for job in jobs])
    await expire_lease(engine, jobs[2].id)
    [taken] = (await rescuer.claim([claims[2].delivery]))[0]
    await asyncio.gather(*(runner.run(claim) for claim in claims))

    def outcome(i: int, status: str, code: str | None = None) -> dict[str, Any]:
        data = {"job_id": str(jobs[i].id), "kind": jobs[i].kind, "status": status}
        return data if code is None else {**data, "code": code}

    assert await sent_to(engine, users[0]) == [
        ("job.succeeded", outcome(0, "succeeded")),
        ("test.saved", {"job_id": str(jobs[0].id)}),
    ]
    # The batch with the failing hook rolled back (its test.saved with it); settled alone, the
    # success could not be saved either, and with no attempts left the job is dead-lettered.
    assert await sent_to(engine, users[1]) == [("job.failed", outcome(1, "dlq", "finish_failed"))]
    assert await sent_to(engine, users[2]) == []  # worker-a's write did not land
    assert await sent_to(engine, users[3]) == [("job.failed", outcome(3, "failed", "content_policy"))]
    assert await sent_to(engine, users[4]) == []  # retrying is not an end
    # A hook returning a malformed event type fails its own job's success, not the others' publish.
    assert await sent_to(engine, users[5]) == [("job.failed", outcome(5, "dlq", "finish_failed"))]
    assert sum(len(batch) for batch in publishes) == 5  # nothing else went out, nothing twice
    assert await rescuer.finish(taken, Outcome("succeeded", result={"by": "rescuer"})) is True
    assert await sent_to(engine, users[2]) == [("job.succeeded", outcome(2, "succeeded"))]


async def test_owners_events_ride_in_the_acknowledgement_on_redis(
    pg_redis: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Redis, a batch's owners' events go in its acknowledgement's pipeline: no publish of
    their own (one round trip fewer per batch), and the owners still hear of them."""
    users = [await make_user(pg_redis, stars=1) for _ in range(2)]
    jobs = [await submit(pg_redis, "t.paid", {"n": 2}, user=user) for user in users]

    async def alone(events: list[NewEvent]) -> Any:
        raise AssertionError(f"published on their own: {events}")

    monkeypatch.setattr(pg_redis.user_events, "publish_many", alone)
    runner = Runner(pg_redis, "worker-a")
    claims = await claim_all(runner, [job.id for job in jobs])
    await asyncio.gather(*(runner.run(claim) for claim in claims))
    for user, job in zip(users, jobs, strict=True):
        data = {"job_id": str(job.id), "kind": job.kind, "status": "succeeded"}
        assert await sent_to(pg_redis, user) == [("job.succeeded", data)]
