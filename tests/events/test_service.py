"""Publishing: after-commit events go out only when the transaction commits; job outcomes map to types."""

from __future__ import annotations

import uuid

import pytest

from conjure.events.service import (
    job_outcome_event,
    publish_after_commit,
    publish_many_after_commit,
    publish_user_event,
)
from conjure.events.types import START, NewEvent
from conjure.runtime import Runtime
from tests.events.conftest import MakeRuntime
from tests.factories import make_user


@pytest.fixture
async def runtime(make_runtime: MakeRuntime, backend: dict[str, str]) -> Runtime:
    return await make_runtime(**backend)


async def test_an_after_commit_event_is_sent_on_commit_and_dropped_on_rollback(runtime: Runtime) -> None:
    user = await make_user(runtime)
    hub = runtime.user_events
    async with runtime.db.session() as session:
        publish_after_commit(session, hub, user.id, "image.ready", {"image_id": "kept"})
        assert await hub.replay(user.id, START) == []  # not before the commit

    async def failing_transaction() -> None:
        async with runtime.db.session() as session:
            publish_after_commit(session, hub, user.id, "image.ready", {"image_id": "rolled back"})
            raise RuntimeError("the transaction fails")

    with pytest.raises(RuntimeError):
        await failing_transaction()
    async with runtime.db.session() as session:
        publish_many_after_commit(
            session,
            hub,
            [NewEvent(user.id, "job.succeeded", {"n": 1}), NewEvent(user.id, "job.succeeded", {"n": 2})],
        )
    sent = await hub.replay(user.id, START)
    assert [(e.type, e.payload()) for e in sent] == [
        ("image.ready", {"image_id": "kept"}),
        ("job.succeeded", {"n": 1}),
        ("job.succeeded", {"n": 2}),
    ]


async def test_a_malformed_event_type_fails_in_the_transaction(runtime: Runtime) -> None:
    user = await make_user(runtime)
    async with runtime.db.session() as session:
        with pytest.raises(ValueError, match="not <domain>"):
            publish_after_commit(session, runtime.user_events, user.id, "ImageReady", {})
    with pytest.raises(ValueError, match="not <domain>"):
        await publish_user_event(runtime.user_events, user.id, "ready", {})
    assert await runtime.user_events.replay(user.id, START) == []


async def test_data_is_json_the_same_way_on_both_hubs(runtime: Runtime) -> None:
    user = await make_user(runtime)
    job_id = uuid.uuid4()
    event = await publish_user_event(runtime.user_events, user.id, "job.succeeded", {"job_id": job_id})
    assert event is not None
    [stored] = await runtime.user_events.replay(user.id, START)
    assert stored.payload() == event.payload() == {"job_id": str(job_id)}


def test_job_outcomes_map_to_event_types() -> None:
    user, job = uuid.uuid4(), uuid.uuid4()

    def outcome(status: str, code: str | None = None) -> tuple[str, dict[str, object]] | None:
        event = job_outcome_event(user_id=user, job_id=job, kind="tarot.reading", status=status, code=code)
        return None if event is None else (event.type, event.data)

    base = {"job_id": str(job), "kind": "tarot.reading"}
    assert outcome("succeeded", "ignored") == ("job.succeeded", {**base, "status": "succeeded"})
    assert outcome("failed", "model_rejected") == (
        "job.failed",
        {**base, "status": "failed", "code": "model_rejected"},
    )
    assert outcome("dlq", "timeout") == ("job.failed", {**base, "status": "dlq", "code": "timeout"})
    assert outcome("canceled", "canceled") == (
        "job.canceled",
        {**base, "status": "canceled", "code": "canceled"},
    )
    assert outcome("retrying") is None
    assert outcome("processing") is None
    assert job_outcome_event(user_id=None, job_id=job, kind="k", status="succeeded") is None
