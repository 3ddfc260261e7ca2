"""Uploads never staged are deleted by the scheduler once older than STAGING_UPLOAD_RETENTION_SECONDS;
an upload an image uses is never deleted, and a deleted one cannot be staged any more."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from conjure.apps.staging.cleanup import delete_unused_uploads
from conjure.apps.staging.models import Upload
from tests.apps.staging.conftest import Api, StartApi, room_photo


async def recorded(api: Api) -> set[str]:
    async with api.runtime.db.session() as session:
        return set(await session.scalars(select(Upload.key)))


async def test_the_scheduler_deletes_old_unused_uploads_only(
    start_api: StartApi, backend: dict[str, str]
) -> None:
    api = await start_api(staging_upload_retention_seconds=1.0, **backend)
    user, headers = await api.user(stars=2)
    project = await api.project(headers)
    used = await api.upload(headers, room_photo())
    body = {"project_id": project, "upload_key": used, "room_type": "bedroom", "style": "modern"}
    accepted = (await api.client.post("/api/v1/images", json=body, headers=headers)).json()
    assert (await api.wait_image(accepted["image_id"], headers))["status"] == "ready"
    never = await api.upload(headers, room_photo())
    assert await recorded(api) == {used, never}
    for _ in range(100):  # the scheduler's periodic task (every second here)
        if not await api.runtime.storage.exists(never):
            break
        await asyncio.sleep(0.1)
    assert not await api.runtime.storage.exists(never)
    assert await recorded(api) == {used}
    assert await api.runtime.storage.exists(used)  # an image uses it: kept, however old
    # A key cleaned up is no longer an upload of the user's.
    late = {**body, "upload_key": never}
    response = await api.client.post("/api/v1/images", json=late, headers=headers)
    assert (response.status_code, response.json()["code"]) == (404, "upload_not_found")
    assert await api.balances(user.id) == (1, 0)


async def test_a_fresh_upload_is_kept(start_api: StartApi, sqlite_url: str) -> None:
    api = await start_api(database_url=sqlite_url)  # the default retention: a day
    _, headers = await api.user()
    key = await api.upload(headers, room_photo())
    assert await delete_unused_uploads(api.runtime) == 0
    assert await api.runtime.storage.exists(key)
    assert await recorded(api) == {key}
