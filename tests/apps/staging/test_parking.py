"""A staging job waiting on Replicate holds no worker slot: with WORKER_CONCURRENCY=1 many predictions
are in flight at once, each job parked until its webhook resumes it; a worker killed while jobs wait
loses nothing; a duplicated webhook resumes a job once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from conjure.app import create_app
from conjure.apps import installed_apps
from conjure.jobs.models import JobEvent
from conjure.jobs.worker import start_embedded
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.apps.staging.conftest import BASE, Api, StartApi
from tests.apps.staging.replicate_peer import ReplicatePeer
from tests.apps.staging.test_replicate import WEBHOOK, created, job_of, staging, submit


def replicate(peer: ReplicatePeer, **overrides: Any) -> dict[str, Any]:
    return {**staging(**overrides), "replicate_api_token": "r8_test", "replicate_base_url": peer.url}


async def statuses(api: Api, job_id: str) -> list[str]:
    async with api.runtime.db.session() as session:
        rows = await session.scalars(
            select(JobEvent.type).where(JobEvent.job_id == uuid.UUID(job_id)).order_by(JobEvent.seq)
        )
        return [t for t in rows if t != "progress"]


async def deliver(api: Api, peer: ReplicatePeer, prediction_id: str, *, webhook_id: str | None = None) -> str:
    headers, body = peer.webhook(prediction_id, webhook_id=webhook_id)
    response = await api.client.post(WEBHOOK, content=body, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def until_waiting(api: Api, job_id: str) -> None:
    for _ in range(400):
        if (await job_of(api, job_id)).status == "waiting":
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"job {job_id} did not park")


async def test_one_worker_slot_keeps_many_staging_jobs_in_flight(
    start_api: StartApi, peer: ReplicatePeer, backend: dict[str, str]
) -> None:
    api = await start_api(**replicate(peer), worker_concurrency=1, **backend)
    user, headers = await api.user(stars=4)
    accepted = [await submit(api, headers) for _ in range(4)]
    # All four predictions are running on the provider's side at once, though the worker has
    # one slot: each job parked after creating its prediction.
    await created(peer, count=4)
    for job in accepted:
        # The prediction exists a moment before its job's park commits.
        await until_waiting(api, job["job_id"])
    assert await api.balances(user.id) == (4, 4)
    await asyncio.sleep(0.5)  # the model's run; the peer answers by webhook afterwards
    for prediction_id in list(peer.predictions):
        assert await deliver(api, peer, prediction_id) == "recorded"
    for job in accepted:
        done = await api.wait_image(job["image_id"], headers)
        assert done["status"] == "ready"
        assert await statuses(api, job["job_id"]) == [
            "queued",
            "processing",
            "waiting",
            "queued",
            "processing",
            "succeeded",
        ]
    assert peer.polls == 0
    assert await api.balances(user.id) == (0, 0)
    assert len(await api.events_of(user.id, "image.ready", count=4)) == 4


@pytest.fixture
async def api_without_worker(
    make_settings: Callable[..., Settings], peer: ReplicatePeer, sqlite_url: str
) -> AsyncIterator[tuple[Api, Settings]]:
    settings = make_settings(public_base_url=BASE, database_url=sqlite_url, **replicate(peer))
    runtime = await Runtime.start(settings)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url=BASE)
    http = httpx.AsyncClient()
    try:
        yield Api(runtime, client, http), settings
    finally:
        await client.aclose()
        await http.aclose()
        await runtime.close()


async def test_jobs_parked_when_their_worker_dies_finish_on_another(
    api_without_worker: tuple[Api, Settings], peer: ReplicatePeer
) -> None:
    api, settings = api_without_worker
    user, headers = await api.user(stars=2)
    first = await start_embedded(api.runtime)
    accepted = [await submit(api, headers) for _ in range(2)]
    await created(peer, count=2)
    for job in accepted:
        for _ in range(200):
            if (await job_of(api, job["job_id"])).status == "waiting":
                break
            await asyncio.sleep(0.025)
    await first()  # the worker is gone; nothing of a parked job was in it
    for prediction_id in list(peer.predictions):
        assert await deliver(api, peer, prediction_id) == "recorded"
    for job in accepted:  # resumed and queued, with no worker to run them yet
        assert (await job_of(api, job["job_id"])).status == "queued"
    other = await Runtime.start(settings, apps=installed_apps())  # another worker process, same database
    stop = await start_embedded(other)
    try:
        for job in accepted:
            done = await api.wait_image(job["image_id"], headers)
            assert done["status"] == "ready", done["error"]
    finally:
        await stop()
        await other.close()
    assert len(peer.creates) == 2  # no prediction paid for twice
    assert await api.balances(user.id) == (0, 0)


async def test_a_duplicated_webhook_resumes_the_job_once(
    start_api: StartApi, peer: ReplicatePeer, backend: dict[str, str]
) -> None:
    api = await start_api(**replicate(peer), **backend)
    user, headers = await api.user(stars=2)
    accepted = await submit(api, headers)
    prediction_id = await created(peer)
    for _ in range(200):
        if (await job_of(api, accepted["job_id"])).status == "waiting":
            break
        await asyncio.sleep(0.025)
    # The same delivery twice at once, then Replicate's own retry under another webhook-id.
    answers = await asyncio.gather(
        deliver(api, peer, prediction_id, webhook_id="msg_a"),
        deliver(api, peer, prediction_id, webhook_id="msg_a"),
    )
    assert sorted(answers) == ["duplicate", "recorded"]
    assert await deliver(api, peer, prediction_id, webhook_id="msg_b") == "ignored"
    assert (await api.wait_image(accepted["image_id"], headers))["status"] == "ready"
    events = await statuses(api, accepted["job_id"])
    assert events.count("processing") == 2  # the parked run and one resumed run
    assert events[-1] == "succeeded"
    assert len(await api.events_of(user.id, "image.ready")) == 1
    assert await api.balances(user.id) == (1, 0)
