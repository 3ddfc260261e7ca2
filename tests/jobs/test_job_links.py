"""Parent/child job links: a child's status shows on its parent; canceling the parent cancels
its queued children and releases their holds, and asks its running ones to stop between steps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from conjure.app import create_app
from conjure.jobs.models import Job, JobStatus
from conjure.runtime import Runtime
from conjure.users.models import User
from tests.factories import auth_headers, make_user
from tests.jobs.conftest import load, submit
from tests.jobs.kinds import APP


@pytest.fixture
async def api(engine: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=engine, apps=[APP])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def balances(runtime: Runtime, user: User) -> tuple[int, int]:
    async with runtime.db.session() as session:
        row = await session.get(User, user.id)
        assert row is not None
        return row.star_balance, row.stars_held


async def make_family(engine: Runtime, *kinds: str) -> tuple[User, dict[str, str], Job, list[Job]]:
    """A user with 3 stars, their headers, a parent job and its children of ``kinds``, in that order."""
    user = await make_user(engine, stars=3)
    parent = await submit(engine, "t.noop", user=user)
    children = [await submit(engine, kind, user=user, parent_job_id=parent.id) for kind in kinds]
    return user, auth_headers(engine, user), parent, children


async def move_on(engine: Runtime, status: JobStatus, *jobs: Job) -> None:
    """Jobs moved to ``status`` as a worker (or a callback) would have moved them."""
    async with engine.db.session() as session:
        for job in jobs:
            row = await session.get(Job, job.id)
            assert row is not None
            row.status = status


async def test_children_show_on_the_parent_and_are_canceled_with_it(
    engine: Runtime, api: httpx.AsyncClient
) -> None:
    user, headers, parent, (first, second) = await make_family(engine, "t.paid", "t.paid")
    unrelated = await submit(engine, "t.paid", user=user)
    assert await balances(engine, user) == (3, 3)
    await move_on(engine, JobStatus.PROCESSING, second)  # a worker has started the second child already
    view = (await api.get(f"/api/v1/jobs/{parent.id}", headers=headers)).json()
    assert [(c["id"], c["kind"], c["status"]) for c in view["children"]] == [
        (str(first.id), "t.paid", "queued"),
        (str(second.id), "t.paid", "processing"),
    ]
    assert (await api.get(f"/api/v1/jobs/{unrelated.id}", headers=headers)).json()["children"] == []
    canceled = await api.post(f"/api/v1/jobs/{parent.id}/cancel", headers=headers)
    assert canceled.json()["status"] == "canceled"
    assert (await load(engine, first.id)).status == JobStatus.CANCELED
    assert (await load(engine, first.id)).error_code == "parent_canceled"
    running = await load(engine, second.id)  # asked to stop at its next step, as any running job
    assert (running.status, running.cancel_requested) == (JobStatus.PROCESSING, True)
    assert not (await load(engine, unrelated.id)).cancel_requested
    assert (await load(engine, unrelated.id)).status == JobStatus.QUEUED
    assert await balances(engine, user) == (3, 2)  # the canceled child's hold was released


async def test_a_cancel_reaches_waiting_children_and_the_children_of_running_ones(
    engine: Runtime, api: httpx.AsyncClient
) -> None:
    user, headers, parent, (waiting, running) = await make_family(engine, "t.paid", "t.noop")
    grandchild = await submit(engine, "t.paid", user=user, parent_job_id=running.id)
    running_grandchild = await submit(engine, "t.noop", user=user, parent_job_id=running.id)
    await move_on(engine, JobStatus.WAITING, waiting)  # parked on a callback
    await move_on(engine, JobStatus.PROCESSING, running, running_grandchild)  # started by workers
    assert await balances(engine, user) == (3, 2)
    canceled = await api.post(f"/api/v1/jobs/{parent.id}/cancel", headers=headers)
    assert canceled.json()["status"] == "canceled"
    for job_id in (waiting.id, grandchild.id):
        ended = await load(engine, job_id)
        assert (ended.status, ended.error_code) == (JobStatus.CANCELED, "parent_canceled")
    for job_id in (running.id, running_grandchild.id):
        asked = await load(engine, job_id)
        assert (asked.status, asked.cancel_requested) == (JobStatus.PROCESSING, True)
    assert await balances(engine, user) == (3, 0)  # both holds released
