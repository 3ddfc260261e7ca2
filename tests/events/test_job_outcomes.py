"""The engine tells a job's owner how it ended: ``job.succeeded`` once a tarot reading's settle has
committed, ``job.canceled`` once a queued job's cancel has; on both backends, to the owner alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from conjure.apps import installed_apps
from conjure.apps.tarot.tasks import KIND
from conjure.events.types import START
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.service import cancel_job, submit_job_now
from conjure.jobs.worker import start_embedded
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import User
from tests.factories import make_user


@pytest.fixture
async def runtime(make_settings: Callable[..., Settings], backend: dict[str, str]) -> AsyncIterator[Runtime]:
    rt = await Runtime.start(make_settings(**backend), apps=installed_apps())
    yield rt
    await rt.close()


async def outcomes(runtime: Runtime, user: User, count: int) -> list[tuple[str, dict[str, Any]]]:
    """The user's ``job.*`` events, once there are ``count`` (published just after their commit)."""
    for _ in range(400):
        sent = [(e.type, e.payload()) for e in await runtime.user_events.replay(user.id, START)]
        found = [(type_, data) for type_, data in sent if type_.startswith("job.")]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.025)
    return found


async def job_status(runtime: Runtime, job_id: uuid.UUID) -> str:
    async with runtime.db.session() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job.status


async def test_a_finished_reading_and_a_canceled_job_reach_their_owners_stream(runtime: Runtime) -> None:
    owner, other = await make_user(runtime, stars=2), await make_user(runtime, stars=2)
    question = {"question": "Will the garden bloom this spring?"}
    # No worker yet: the first job stays queued and is canceled.
    canceled = await submit_job_now(runtime, user_id=owner.id, kind=KIND, payload=question)
    async with runtime.db.session() as session:
        await cancel_job(session, runtime, canceled.id, owner)
    assert await outcomes(runtime, owner, 1) == [
        ("job.canceled", {"job_id": str(canceled.id), "kind": KIND, "status": "canceled", "code": "canceled"})
    ]
    stop = await start_embedded(runtime)
    try:
        read = await submit_job_now(runtime, user_id=owner.id, kind=KIND, payload=question)
        found = await outcomes(runtime, owner, 2)
    finally:
        await stop()
    assert await job_status(runtime, read.id) == JobStatus.SUCCEEDED
    assert found[1] == ("job.succeeded", {"job_id": str(read.id), "kind": KIND, "status": "succeeded"})
    assert len(found) == 2
    assert await runtime.user_events.replay(other.id, START) == []
