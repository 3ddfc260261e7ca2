"""Direct uploads (presigned POST on S3, signed PUT on the local store) and what the store refuses."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from conjure.storage.uploads import PresignedUpload, UploadPolicy
from tests.storage.conftest import StoreUnderTest

KEY = "uploads/user_1/room.jpg"
BYTES = b"\xff\xd8\xff" + b"j" * 997  # 1000 bytes


async def send(
    http: httpx.AsyncClient,
    upload: PresignedUpload,
    data: bytes,
    *,
    content_type: str | None = None,
    key: str | None = None,
) -> httpx.Response:
    """Upload the way a client does, following ``method``; optionally tampering with type or key."""
    if upload.method == "POST":
        fields = dict(upload.fields)
        if content_type is not None:
            fields["Content-Type"] = content_type
        if key is not None:
            fields["key"] = fields["key"].replace(upload.key, key)
        return await http.post(upload.url, data=fields, files={"file": ("room.jpg", data)})
    headers = dict(upload.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    url = upload.url if key is None else upload.url.replace(upload.key, key)
    return await http.put(url, content=data, headers=headers)


def policy(**overrides: object) -> UploadPolicy:
    values: dict[str, object] = {
        "key": KEY,
        "content_type": "image/jpeg",
        "max_bytes": 1000,
        "expires_seconds": 60,
    }
    values.update(overrides)
    return UploadPolicy(**values)  # type: ignore[arg-type]


async def test_upload_through_the_presigned_request(backend_store: StoreUnderTest) -> None:
    store, http = backend_store.store, backend_store.http
    upload = await store.presigned_upload(policy())
    assert upload.key == KEY
    response = await send(http, upload, BYTES)
    assert response.status_code in (200, 201, 204), response.text
    assert await store.get(KEY) == BYTES
    fetched = await http.get(await store.presigned_get_url(KEY, expires_seconds=60))
    assert fetched.headers["content-type"] == "image/jpeg"


async def test_store_refuses_an_upload_over_the_size_limit(backend_store: StoreUnderTest) -> None:
    store, http = backend_store.store, backend_store.http
    upload = await store.presigned_upload(policy())
    response = await send(http, upload, BYTES + b"x")
    assert response.status_code in (400, 413), response.text
    assert not await store.exists(KEY)


async def test_store_refuses_a_wrong_content_type(backend_store: StoreUnderTest) -> None:
    store, http = backend_store.store, backend_store.http
    upload = await store.presigned_upload(policy())
    response = await send(http, upload, BYTES, content_type="text/html")
    assert response.status_code == 403, response.text
    assert not await store.exists(KEY)


async def test_store_refuses_a_different_key(backend_store: StoreUnderTest) -> None:
    store, http = backend_store.store, backend_store.http
    upload = await store.presigned_upload(policy())
    other = "uploads/user_2/room.jpg"
    response = await send(http, upload, BYTES, key=other)
    assert response.status_code == 403, response.text
    assert not await store.exists(other)
    assert not await store.exists(KEY)


async def test_store_refuses_an_expired_policy(backend_store: StoreUnderTest) -> None:
    store, http = backend_store.store, backend_store.http
    upload = await store.presigned_upload(policy(expires_seconds=1))
    await asyncio.sleep(2.1)
    response = await send(http, upload, BYTES)
    assert response.status_code == 403, response.text
    assert not await store.exists(KEY)


@pytest.mark.parametrize("size", [0, 1000])
async def test_size_range_bounds_are_inclusive_and_empty_is_refused(
    backend_store: StoreUnderTest, size: int
) -> None:
    store, http = backend_store.store, backend_store.http
    upload = await store.presigned_upload(policy())
    response = await send(http, upload, BYTES[:size])
    if size == 0:
        assert response.status_code == 400, response.text
        assert not await store.exists(KEY)
    else:
        assert response.status_code in (200, 201, 204), response.text
