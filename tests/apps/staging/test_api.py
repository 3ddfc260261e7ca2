"""Seed 001 over HTTP: projects, a direct upload, staging on the offline model, reading, deleting."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from PIL import Image

from conjure.storage.s3 import S3ObjectStore
from tests.apps.staging.conftest import StartApi, room_photo


async def test_projects_crud_paging_and_ownership(start_api: StartApi, backend: dict[str, str]) -> None:
    api = await start_api(**backend)
    _, headers = await api.user()
    ids = [await api.project(headers, f"House {i}") for i in range(3)]
    page = (await api.client.get("/api/v1/projects?limit=2", headers=headers)).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [p["id"] for p in page["items"]] == ids[::-1][:2]  # newest first
    rest = (await api.client.get("/api/v1/projects?limit=2&offset=2", headers=headers)).json()
    assert [p["id"] for p in rest["items"]] == [ids[0]]
    renamed = await api.client.patch(f"/api/v1/projects/{ids[0]}", json={"name": "  Loft  "}, headers=headers)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Loft"
    got = (await api.client.get(f"/api/v1/projects/{ids[0]}", headers=headers)).json()
    assert (got["name"], got["image_count"]) == ("Loft", 0)
    assert (
        await api.client.post("/api/v1/projects", json={"name": "   "}, headers=headers)
    ).status_code == 422
    _, stranger = await api.user()
    for method in ("GET", "PATCH", "DELETE"):
        response = await api.client.request(
            method, f"/api/v1/projects/{ids[0]}", json={"name": "x"}, headers=stranger
        )
        assert response.status_code == 404, method
    assert (await api.client.get(f"/api/v1/projects/{ids[0]}/images", headers=stranger)).status_code == 404
    assert (await api.client.get("/api/v1/projects", headers=stranger)).json()["total"] == 0
    assert (await api.client.delete(f"/api/v1/projects/{ids[1]}", headers=headers)).status_code == 204
    assert (await api.client.get(f"/api/v1/projects/{ids[1]}", headers=headers)).status_code == 404
    assert (await api.client.get("/api/v1/projects")).status_code == 401


async def test_upload_stage_and_fetch_the_staged_image(start_api: StartApi, stack: dict[str, Any]) -> None:
    api = await start_api(**stack)
    user, headers = await api.user(stars=3)
    project = await api.project(headers)
    photo = room_photo(640, 480, orientation=6, gps=True)  # taken sideways, with a location
    presigned = (
        await api.client.post(
            "/api/v1/uploads/presign",
            json={"filename": "room.jpg", "content_type": "image/jpeg", "size": len(photo)},
            headers=headers,
        )
    ).json()
    if "s3" in api.runtime.settings.resolved_storage_url:
        assert presigned["method"] == "POST"
        assert presigned["fields"]["Content-Type"] == "image/jpeg"
        assert {"policy", "x-amz-signature", "key"} <= set(presigned["fields"])
    else:
        assert (presigned["method"], presigned["fields"]) == ("PUT", {})
        assert presigned["headers"] == {"Content-Type": "image/jpeg"}
    key = await api.upload(headers, photo)
    assert key.startswith(f"uploads/user_{user.id}/")
    assert key.endswith(".jpg")
    body = {"project_id": project, "upload_key": key, "room_type": "living_room", "style": "scandinavian"}
    response = await api.client.post("/api/v1/images", json=body, headers=headers)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "queued"
    done = await api.wait_image(accepted["image_id"], headers)
    assert done["status"] == "ready", done
    assert (done["offline_preview"], done["provider"], done["room_type"], done["style"]) == (
        True,
        "offline",
        "living_room",
        "scandinavian",
    )
    staged = await api.fetch(done["staged_url"])
    assert staged.status_code == 200
    image = Image.open(io.BytesIO(staged.content))
    assert (image.format, image.size) == ("JPEG", (480, 640))  # EXIF orientation applied
    original = Image.open(io.BytesIO((await api.fetch(done["original_url"])).content))
    assert original.size == (480, 640)
    assert not original.getexif()  # no orientation, no GPS in what is shown
    assert not image.getexif()
    thumb = Image.open(io.BytesIO((await api.fetch(done["thumbnail_url"])).content))
    assert max(thumb.size) <= 400
    assert await api.balances(user.id) == (2, 0)  # charged once it was ready
    if isinstance(api.runtime.storage, S3ObjectStore):
        s3 = await api.runtime.storage._s3()
        for stored in await _object_keys(api, accepted["image_id"]):
            head = await s3.head_object(
                Bucket=api.runtime.storage.bucket, Key=api.runtime.storage.object_name(stored)
            )
            assert head["ServerSideEncryption"] == "AES256"
    listing = (await api.client.get(f"/api/v1/projects/{project}/images", headers=headers)).json()
    assert [i["id"] for i in listing["items"]] == [accepted["image_id"]]
    assert listing["total"] == 1
    (ready,) = await api.events_of(user.id, "image.ready")
    assert (ready["image_id"], ready["project_id"], ready["status"]) == (
        accepted["image_id"],
        project,
        "ready",
    )
    assert (await api.fetch(ready["staged_url"])).content == staged.content
    assert await api.events_of(user.id, "image.failed", count=0) == []


async def test_api_refuses_other_users_keys_and_keys_never_uploaded(
    start_api: StartApi, sqlite_url: str
) -> None:
    api = await start_api(database_url=sqlite_url)
    owner, owner_headers = await api.user()
    _, headers = await api.user()
    project = await api.project(headers)
    owners_key = await api.upload(owner_headers, room_photo())
    never = f"uploads/user_{(await api.user())[0].id}/{uuid.uuid4()}.jpg"
    mine_but_missing = owners_key.replace(f"user_{owner.id}", "user_x")
    for key in (owners_key, never, mine_but_missing, "../etc/passwd", f"staged/user_{owner.id}/a.jpg"):
        body = {"project_id": project, "upload_key": key, "room_type": "bedroom", "style": "modern"}
        response = await api.client.post("/api/v1/images", json=body, headers=headers)
        assert response.status_code == 404, (key, response.text)
    own_unsent = (
        await api.client.post(
            "/api/v1/uploads/presign",
            json={"filename": "a.png", "content_type": "image/png", "size": 10},
            headers=headers,
        )
    ).json()["key"]
    body = {"project_id": project, "upload_key": own_unsent, "room_type": "bedroom", "style": "modern"}
    response = await api.client.post("/api/v1/images", json=body, headers=headers)
    assert (response.status_code, response.json()["code"]) == (404, "upload_not_found")
    too_big = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 20 * 1024 * 1024 + 1}
    response = await api.client.post("/api/v1/uploads/presign", json=too_big, headers=headers)
    assert (response.status_code, response.json()["code"]) == (413, "upload_too_large")
    wrong_type = {"filename": "a.gif", "content_type": "image/gif", "size": 10}
    assert (
        await api.client.post("/api/v1/uploads/presign", json=wrong_type, headers=headers)
    ).status_code == 422
    bad_style = {"project_id": project, "upload_key": own_unsent, "room_type": "bedroom", "style": "baroque"}
    assert (await api.client.post("/api/v1/images", json=bad_style, headers=headers)).status_code == 422


async def test_a_file_that_is_not_an_image_fails_and_releases_the_hold(
    start_api: StartApi, backend: dict[str, str]
) -> None:
    api = await start_api(**backend)
    user, headers = await api.user(stars=1)
    project = await api.project(headers)
    key = await api.upload(headers, b"<html>definitely not a photo</html>")
    body = {"project_id": project, "upload_key": key, "room_type": "kitchen", "style": "industrial"}
    accepted = (await api.client.post("/api/v1/images", json=body, headers=headers)).json()
    done = await api.wait_image(accepted["image_id"], headers)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "not_an_image"
    assert done["staged_url"] is None
    assert done["original_url"] is None  # the raw upload is never linked, only the checked copy
    assert await api.balances(user.id) == (1, 0)
    (failed,) = await api.events_of(user.id, "image.failed")
    assert (failed["image_id"], failed["error"]["code"]) == (accepted["image_id"], "not_an_image")


async def test_idempotency_key_returns_the_same_image(start_api: StartApi, sqlite_url: str) -> None:
    api = await start_api(database_url=sqlite_url)
    _, headers = await api.user(stars=5)
    project = await api.project(headers)
    key = await api.upload(headers, room_photo())
    body = {"project_id": project, "upload_key": key, "room_type": "office", "style": "minimalist"}
    keyed = {**headers, "Idempotency-Key": "stage-1"}
    first = (await api.client.post("/api/v1/images", json=body, headers=keyed)).json()
    again = (await api.client.post("/api/v1/images", json=body, headers=keyed)).json()
    assert (again["image_id"], again["job_id"]) == (first["image_id"], first["job_id"])
    other = {**body, "style": "luxury"}
    reused = await api.client.post("/api/v1/images", json=other, headers=keyed)
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")


async def test_restage_and_deleting_remove_the_objects(start_api: StartApi, stack: dict[str, Any]) -> None:
    api = await start_api(**stack)
    _, headers = await api.user(stars=5)
    project = await api.project(headers)
    key = await api.upload(headers, room_photo())
    body = {"project_id": project, "upload_key": key, "room_type": "bedroom", "style": "coastal"}
    first = (await api.client.post("/api/v1/images", json=body, headers=headers)).json()["image_id"]
    await api.wait_image(first, headers)
    response = await api.client.post(
        f"/api/v1/images/{first}/restage", json={"style": "luxury"}, headers=headers
    )
    assert response.status_code == 202, response.text
    second = response.json()["image_id"]
    variant = await api.wait_image(second, headers)
    assert (variant["status"], variant["style"], variant["room_type"]) == ("ready", "luxury", "bedroom")
    listing = (await api.client.get(f"/api/v1/projects/{project}/images", headers=headers)).json()
    assert [i["id"] for i in listing["items"]] == [second, first]  # newest first
    assert (await api.client.get(f"/api/v1/projects/{project}", headers=headers)).json()["image_count"] == 2
    storage = api.runtime.storage
    first_keys = await _object_keys(api, first)
    assert (await api.client.delete(f"/api/v1/images/{first}", headers=headers)).status_code == 204
    for stored in first_keys:
        assert not await storage.exists(stored)
    assert await storage.exists(key)  # the variant still uses the original
    assert (await api.client.get(f"/api/v1/images/{first}", headers=headers)).status_code == 404
    second_keys = await _object_keys(api, second)
    assert (await api.client.delete(f"/api/v1/projects/{project}", headers=headers)).status_code == 204
    for stored in [*second_keys, key]:
        assert not await storage.exists(stored)
    assert (await api.client.get(f"/api/v1/images/{second}", headers=headers)).status_code == 404


async def _object_keys(api: Any, image_id: str) -> list[str]:
    from conjure.apps.staging.models import StagedImage

    async with api.runtime.db.session() as session:
        image = await session.get(StagedImage, uuid.UUID(image_id))
        assert image is not None
        keys = [image.display_key, image.thumbnail_key, image.staged_key, image.staged_thumbnail_key]
    assert all(keys)
    return [k for k in keys if k]


@pytest.mark.parametrize("path", ["/api/v1/images/{id}", "/api/v1/images/{id}/restage"])
async def test_another_users_image_is_not_found(start_api: StartApi, sqlite_url: str, path: str) -> None:
    api = await start_api(database_url=sqlite_url)
    _, headers = await api.user()
    project = await api.project(headers)
    key = await api.upload(headers, room_photo())
    body = {"project_id": project, "upload_key": key, "room_type": "bathroom", "style": "modern"}
    image_id = (await api.client.post("/api/v1/images", json=body, headers=headers)).json()["image_id"]
    await api.wait_image(image_id, headers)
    _, stranger = await api.user()
    url = path.format(id=image_id)
    method = "POST" if url.endswith("restage") else "GET"
    assert (await api.client.request(method, url, json={}, headers=stranger)).status_code == 404
    assert (await api.client.delete(f"/api/v1/images/{image_id}", headers=stranger)).status_code == 404
    assert (await api.client.get(f"/api/v1/images/{image_id}", headers=headers)).status_code == 200


async def test_a_project_name_with_control_characters_is_refused_not_a_500(
    start_api: StartApi, backend: dict[str, str]
) -> None:
    # PostgreSQL cannot store NUL in text: without a check the insert fails (a 500) there only.
    api = await start_api(**backend)
    _, headers = await api.user()
    # As JSON escapes on the wire (a lone surrogate cannot be encoded any other way).
    for name in ("Elm\\u0000Street", "Elm\\u0007Street", "Elm\\ud800Street"):
        created = await api.client.post(
            "/api/v1/projects",
            content=f'{{"name": "{name}"}}',
            headers={**headers, "content-type": "application/json"},
        )
        assert (created.status_code, created.json()["code"]) == (422, "validation_error"), name
    pid = await api.project(headers, "Elm Street")
    renamed = await api.client.patch(f"/api/v1/projects/{pid}", json={"name": "a\x00"}, headers=headers)
    assert (renamed.status_code, renamed.json()["code"]) == (422, "validation_error")
    assert (await api.client.get("/api/v1/projects", headers=headers)).json()["total"] == 1
