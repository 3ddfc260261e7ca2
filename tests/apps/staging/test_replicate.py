"""The Replicate path against a local peer: webhook completes the job, forged or replayed webhooks
change nothing, polling completes it when no webhook comes, 429/5xx are retried, refusals cost nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conjure.jobs.models import Job
from tests.apps.staging.conftest import Api, StartApi, room_photo
from tests.apps.staging.replicate_peer import SECRET, ReplicatePeer

WEBHOOK = "/api/v1/webhooks/replicate"


def staging(**overrides: Any) -> dict[str, Any]:
    """The app's settings for the Replicate path, given to make_settings like any other."""
    values: dict[str, Any] = {
        "staging_provider": "replicate",
        "replicate_webhook_secret": SECRET,
        "staging_webhook_grace_seconds": 60.0,
        "staging_poll_interval_seconds": 0.1,
    }
    values.update(overrides)
    return values


async def start(start_api: StartApi, peer: ReplicatePeer, backend: dict[str, str], **overrides: Any) -> Api:
    return await start_api(
        **staging(**overrides),
        replicate_api_token="r8_test",
        replicate_base_url=peer.url,
        **backend,
    )


async def submit(api: Api, headers: dict[str, str], quality: str = "standard") -> dict[str, Any]:
    project = await api.project(headers)
    key = await api.upload(headers, room_photo())
    body = {
        "project_id": project,
        "upload_key": key,
        "room_type": "dining_room",
        "style": "mid_century",
        "quality": quality,
    }
    response = await api.client.post("/api/v1/images", json=body, headers=headers)
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    return accepted


async def created(peer: ReplicatePeer, count: int = 1) -> str:
    for _ in range(400):
        if len(peer.predictions) >= count:
            return list(peer.predictions)[count - 1]
        await asyncio.sleep(0.025)
    raise AssertionError("no prediction was created")


async def job_of(api: Api, job_id: str) -> Job:
    async with api.runtime.db.session() as session:
        job = (await session.execute(select(Job).where(Job.id == uuid.UUID(job_id)))).scalar_one()
    return job


async def test_the_webhook_completes_the_job(
    start_api: StartApi, peer: ReplicatePeer, backend: dict[str, str]
) -> None:
    api = await start(start_api, peer, backend)
    user, headers = await api.user(stars=2)
    accepted = await submit(api, headers)
    prediction_id = await created(peer)
    (sent,) = peer.creates
    assert sent["path"] == "/v1/models/qwen/qwen-image-edit/predictions"
    assert sent["auth"] == "Bearer r8_test"
    assert (sent["webhook"], sent["webhook_events_filter"]) == ("http://test" + WEBHOOK, ["completed"])
    assert sent["input"]["image"].startswith("http://test/files/staged/")
    assert "dining room" in sent["input"]["prompt"]
    headers_, body = peer.webhook(prediction_id)
    response = await api.client.post(WEBHOOK, content=body, headers=headers_)
    assert (response.status_code, response.json()) == (200, {"status": "recorded"})
    done = await api.wait_image(accepted["image_id"], headers)
    assert (done["status"], done["provider"], done["model"]) == ("ready", "replicate", "qwen/qwen-image-edit")
    assert done["offline_preview"] is False
    assert (await api.fetch(done["staged_url"])).status_code == 200
    assert peer.polls == 0  # the webhook, not polling, finished it
    job = await job_of(api, accepted["job_id"])
    assert job.usage is not None
    assert job.usage["cost_usd"] == pytest.approx(0.011)
    assert await api.balances(user.id) == (1, 0)
    assert [e["image_id"] for e in await api.events_of(user.id, "image.ready")] == [accepted["image_id"]]


async def test_forged_and_replayed_webhooks_change_nothing(
    start_api: StartApi, peer: ReplicatePeer, sqlite_url: str
) -> None:
    api = await start(start_api, peer, {"database_url": sqlite_url})
    user, headers = await api.user(stars=2)
    accepted = await submit(api, headers, quality="high")
    prediction_id = await created(peer)
    assert peer.creates[0]["path"] == "/v1/models/black-forest-labs/flux-kontext-max/predictions"
    now = int(time.time())
    forged = [
        peer.webhook(prediction_id, secret="whsec_" + "Zm9yZ2VkLWtleS1mb3JnZWQta2V5LWZvcmdlZA=="),
        peer.webhook(prediction_id, timestamp=now - 301),  # too old
        peer.webhook(prediction_id, timestamp=now + 301),  # from the future
    ]
    tampered_headers, body = peer.webhook(prediction_id)
    forged.append((tampered_headers, body.replace(b"succeeded", b"canceled!")))
    for forged_headers, forged_body in forged:
        response = await api.client.post(WEBHOOK, content=forged_body, headers=forged_headers)
        assert (response.status_code, response.json()["code"]) == (400, "invalid_signature")
    await asyncio.sleep(0.3)
    still = (await api.client.get(f"/api/v1/images/{accepted['image_id']}", headers=headers)).json()
    assert still["status"] == "processing"
    good_headers, good_body = peer.webhook(prediction_id, webhook_id="msg_1")
    first = await api.client.post(WEBHOOK, content=good_body, headers=good_headers)
    assert first.json() == {"status": "recorded"}
    replay = await api.client.post(WEBHOOK, content=good_body, headers=good_headers)
    assert (replay.status_code, replay.json()) == (200, {"status": "duplicate"})
    # Replicate's own retry of the same event comes with another id: recorded already, ignored.
    failed_headers, failed_body = peer.webhook(prediction_id, webhook_id="msg_2")
    retry = await api.client.post(WEBHOOK, content=failed_body, headers=failed_headers)
    assert retry.json() == {"status": "ignored"}
    done = await api.wait_image(accepted["image_id"], headers)
    assert (done["status"], done["model"]) == ("ready", "black-forest-labs/flux-kontext-max")
    assert len(await api.events_of(user.id, "image.ready")) == 1
    assert len(peer.creates) == 1


async def test_without_a_webhook_polling_completes_the_job(
    start_api: StartApi, peer: ReplicatePeer, backend: dict[str, str]
) -> None:
    peer.auto_finish_after = 0.3
    api = await start(start_api, peer, backend, staging_webhook_grace_seconds=0.2)
    _, headers = await api.user(stars=1)
    accepted = await submit(api, headers)
    done = await api.wait_image(accepted["image_id"], headers)
    assert done["status"] == "ready"
    assert peer.polls >= 1


async def test_429_and_5xx_are_retried_by_the_engine(
    start_api: StartApi, peer: ReplicatePeer, sqlite_url: str
) -> None:
    peer.create_statuses = [429, 503]
    peer.auto_finish_after = 0.0
    api = await start(start_api, peer, {"database_url": sqlite_url}, staging_webhook_grace_seconds=0.0)
    user, headers = await api.user(stars=1)
    accepted = await submit(api, headers)
    done = await api.wait_image(accepted["image_id"], headers)
    assert done["status"] == "ready"
    job = await job_of(api, accepted["job_id"])
    assert job.attempts == 3
    assert len(peer.creates) == 1
    assert await api.balances(user.id) == (0, 0)


async def test_a_refused_input_fails_without_charge(
    start_api: StartApi, peer: ReplicatePeer, sqlite_url: str
) -> None:
    peer.create_statuses = [422]
    api = await start(start_api, peer, {"database_url": sqlite_url})
    user, headers = await api.user(stars=1)
    accepted = await submit(api, headers)
    done = await api.wait_image(accepted["image_id"], headers)
    assert (done["status"], done["error"]["code"]) == ("failed", "provider_rejected")
    assert await api.balances(user.id) == (1, 0)
    assert [e["error"]["code"] for e in await api.events_of(user.id, "image.failed")] == ["provider_rejected"]
    job = await job_of(api, accepted["job_id"])
    assert job.attempts == 1


async def test_webhooks_are_refused_when_no_secret_is_set(start_api: StartApi, sqlite_url: str) -> None:
    api = await start_api(database_url=sqlite_url)
    peer_headers = {
        "webhook-id": "msg",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1,x",
    }
    response = await api.client.post(WEBHOOK, content=b"{}", headers=peer_headers)
    assert (response.status_code, response.json()["code"]) == (503, "webhooks_not_configured")


async def test_an_image_deleted_while_it_is_staged_stores_nothing_and_costs_nothing(
    start_api: StartApi, peer: ReplicatePeer, sqlite_url: str
) -> None:
    api = await start(start_api, peer, {"database_url": sqlite_url})
    user, headers = await api.user(stars=1)
    accepted = await submit(api, headers)
    prediction_id = await created(peer)
    for _ in range(200):  # parked, waiting on Replicate
        if (await job_of(api, accepted["job_id"])).status == "waiting":
            break
        await asyncio.sleep(0.025)
    root = api.runtime.settings.resolved_storage_url.removeprefix("file://")
    stored = [p for p in Path(root).rglob("*") if p.is_file() and "/staged/" in str(p)]
    assert len(stored) >= 2  # the checked copy of the photo and its thumbnail
    assert (
        await api.client.delete(f"/api/v1/images/{accepted['image_id']}", headers=headers)
    ).status_code == 204
    # No worker held the job: it is canceled at once, its hold released.
    job = await job_of(api, accepted["job_id"])
    assert (job.status, job.error_code) == ("canceled", "canceled")
    webhook_headers, body = peer.webhook(prediction_id)
    assert (await api.client.post(WEBHOOK, content=body, headers=webhook_headers)).status_code == 200
    await asyncio.sleep(0.3)
    assert (await job_of(api, accepted["job_id"])).status == "canceled"  # the late webhook changes nothing
    assert await api.balances(user.id) == (1, 0)
    staged = [p for p in Path(root).rglob("*") if p.is_file() and "/staged/" in str(p)]
    assert staged == []
    # Nothing to show it on: no image event, only the job's own outcome.
    assert await api.events_of(user.id, "image.failed", count=0) == []
    [outcome] = await api.events_of(user.id, "job.canceled")
    assert (outcome["job_id"], outcome["code"]) == (accepted["job_id"], "canceled")


async def test_an_account_out_of_credit_fails_at_once_without_charge(
    start_api: StartApi, peer: ReplicatePeer, sqlite_url: str
) -> None:
    peer.create_statuses = [402]  # Replicate: insufficient credit; no wait refills it
    api = await start(start_api, peer, {"database_url": sqlite_url})
    user, headers = await api.user(stars=1)
    accepted = await submit(api, headers)
    done = await api.wait_image(accepted["image_id"], headers)
    assert (done["status"], done["error"]["code"]) == ("failed", "provider_quota")
    assert await api.balances(user.id) == (1, 0)
    assert (await job_of(api, accepted["job_id"])).attempts == 1
