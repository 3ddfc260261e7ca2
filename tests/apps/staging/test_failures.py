"""Every end of a staging job without success marks its image ``failed`` and sends ``image.failed``
once (the kind's ``on_failure``): a timeout that dead-letters it, a cancel while it waits on
Replicate, a webhook that never comes; and the price is the running settings' STAGING_PRICE_STARS."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import select

from conjure.apps.staging.models import StagedImage
from tests.apps.staging.conftest import Api, StartApi
from tests.apps.staging.replicate_peer import ReplicatePeer
from tests.apps.staging.test_replicate import created, job_of, staging, submit


def replicate(peer: ReplicatePeer, **overrides: Any) -> dict[str, Any]:
    return {**staging(**overrides), "replicate_api_token": "r8_test", "replicate_base_url": peer.url}


async def image_row(api: Api, image_id: str) -> StagedImage:
    async with api.runtime.db.session() as session:
        image = await session.scalar(select(StagedImage).where(StagedImage.id == uuid.UUID(image_id)))
        assert image is not None
        return image


async def assert_failed_once(api: Api, user_id: uuid.UUID, accepted: dict[str, Any], code: str) -> None:
    """The row itself says failed (not only through its job), and the owner was told once."""
    image = await image_row(api, accepted["image_id"])
    assert (image.status, image.error_code) == ("failed", code)
    told = await api.events_of(user_id, "image.failed")
    assert [(e["image_id"], e["error"]["code"]) for e in told] == [(accepted["image_id"], code)]
    await asyncio.sleep(0.3)  # nothing else comes later
    assert len(await api.events_of(user_id, "image.failed", count=2, timeout=0.1)) == 1


async def test_a_timeout_that_dead_letters_the_job_fails_the_image(
    start_api: StartApi, peer: ReplicatePeer, backend: dict[str, str]
) -> None:
    peer.create_delay = 2.0  # the provider hangs past the run's time limit
    api = await start_api(**replicate(peer), staging_job_timeout_seconds=1.0, job_max_attempts=1, **backend)
    user, headers = await api.user(stars=1)
    accepted = await submit(api, headers)
    done = await api.wait_image(accepted["image_id"], headers)
    assert done["status"] == "failed"
    assert (await job_of(api, accepted["job_id"])).status == "dlq"
    await assert_failed_once(api, user.id, accepted, "timeout")
    assert await api.balances(user.id) == (1, 0)


async def test_a_cancel_while_waiting_on_replicate_fails_the_image_at_once(
    start_api: StartApi, peer: ReplicatePeer, backend: dict[str, str]
) -> None:
    api = await start_api(**replicate(peer), **backend)
    user, headers = await api.user(stars=1)
    accepted = await submit(api, headers)
    await created(peer)
    for _ in range(200):
        if (await job_of(api, accepted["job_id"])).status == "waiting":
            break
        await asyncio.sleep(0.025)
    response = await api.client.post(f"/api/v1/jobs/{accepted['job_id']}/cancel", headers=headers)
    assert (response.status_code, response.json()["status"]) == (200, "canceled")
    await assert_failed_once(api, user.id, accepted, "canceled")
    assert await api.balances(user.id) == (1, 0)
    # The owner canceled it: the API says so (not "failed"), on its own and in the project's list.
    shown = await api.wait_image(accepted["image_id"], headers)
    assert (shown["status"], shown["error"]["code"]) == ("canceled", "canceled")
    listed = await api.client.get(f"/api/v1/projects/{shown['project_id']}/images", headers=headers)
    assert [i["status"] for i in listed.json()["items"]] == ["canceled"]


async def test_a_webhook_that_never_comes_fails_the_image_at_the_deadline(
    start_api: StartApi, peer: ReplicatePeer, sqlite_url: str
) -> None:
    api = await start_api(**replicate(peer, staging_wait_deadline_seconds=1.0), database_url=sqlite_url)
    user, headers = await api.user(stars=1)
    accepted = await submit(api, headers)
    done = await api.wait_image(accepted["image_id"], headers)
    assert (done["status"], done["error"]["code"]) == ("failed", "callback_timeout")
    await assert_failed_once(api, user.id, accepted, "callback_timeout")
    assert await api.balances(user.id) == (1, 0)
    assert peer.polls == 0  # the grace (60 s) outlasted the deadline: it only waited


async def test_the_price_is_read_from_the_running_settings(start_api: StartApi, sqlite_url: str) -> None:
    api = await start_api(database_url=sqlite_url, staging_price_stars=3)
    user, headers = await api.user(stars=5)
    accepted = await submit(api, headers)
    assert (await job_of(api, accepted["job_id"])).price_stars == 3
    done = await api.wait_image(accepted["image_id"], headers)
    assert done["status"] == "ready"
    assert await api.balances(user.id) == (2, 0)
    _, poor_headers = await api.user(stars=2)
    project = await api.project(poor_headers)
    key = await api.upload(poor_headers, b"x" * 10)
    body = {"project_id": project, "upload_key": key, "room_type": "bedroom", "style": "modern"}
    response = await api.client.post("/api/v1/images", json=body, headers=poor_headers)
    assert (response.status_code, response.json()["code"]) == (402, "insufficient_stars")
