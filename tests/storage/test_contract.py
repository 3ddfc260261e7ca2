"""Both storage backends keep the same contract: put/get/delete/exists and presigned GET and PUT links."""

from __future__ import annotations

import asyncio

import pytest
from botocore.exceptions import ClientError

from conjure.settings import Settings
from conjure.storage.base import InvalidObjectKey, ObjectNotFound
from conjure.storage.service import make_storage
from tests.storage.conftest import StoreUnderTest


async def test_put_get_exists_delete(backend_store: StoreUnderTest) -> None:
    store = backend_store.store
    assert not await store.exists("a/b/c.txt")
    await store.put("a/b/c.txt", b"hello", content_type="text/plain")
    assert await store.exists("a/b/c.txt")
    assert await store.get("a/b/c.txt") == b"hello"
    await store.put("a/b/c.txt", b"again", content_type="text/plain")
    assert await store.get("a/b/c.txt") == b"again"
    await store.delete("a/b/c.txt")
    assert not await store.exists("a/b/c.txt")
    with pytest.raises(ObjectNotFound):
        await store.get("a/b/c.txt")
    await store.delete("a/b/c.txt")  # deleting twice is fine


async def test_ping(backend_store: StoreUnderTest) -> None:
    await backend_store.store.ping()


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/../b", ".hidden", "", "a b", "a/"])
async def test_unsafe_keys_are_refused(backend_store: StoreUnderTest, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        await backend_store.store.put(key, b"x", content_type="text/plain")


async def test_presigned_get_serves_the_object(backend_store: StoreUnderTest) -> None:
    store, http = backend_store.store, backend_store.http
    await store.put("img/x.png", b"\x89PNG-ish", content_type="image/png")
    url = await store.presigned_get_url("img/x.png", expires_seconds=60)
    response = await http.get(url)
    assert response.status_code == 200
    assert response.content == b"\x89PNG-ish"
    assert response.headers["content-type"] == "image/png"


async def test_presigned_get_of_missing_object_is_404(backend_store: StoreUnderTest) -> None:
    url = await backend_store.store.presigned_get_url("nothing/here.png", expires_seconds=60)
    assert (await backend_store.http.get(url)).status_code == 404


async def test_presigned_put_uploads_with_the_signed_content_type(backend_store: StoreUnderTest) -> None:
    store, http = backend_store.store, backend_store.http
    url = await store.presigned_put_url("uploads/u.jpg", content_type="image/jpeg", expires_seconds=60)
    response = await http.put(url, content=b"jpeg bytes", headers={"Content-Type": "image/jpeg"})
    assert response.status_code in (200, 204)
    assert await store.get("uploads/u.jpg") == b"jpeg bytes"
    get_url = await store.presigned_get_url("uploads/u.jpg", expires_seconds=60)
    assert (await http.get(get_url)).headers["content-type"] == "image/jpeg"


async def test_presigned_put_with_another_content_type_is_refused(backend_store: StoreUnderTest) -> None:
    store, http = backend_store.store, backend_store.http
    url = await store.presigned_put_url("uploads/v.jpg", content_type="image/jpeg", expires_seconds=60)
    response = await http.put(url, content=b"<html>", headers={"Content-Type": "text/html"})
    assert response.status_code == 403
    assert not await store.exists("uploads/v.jpg")


async def test_presigned_links_expire(backend_store: StoreUnderTest) -> None:
    store, http = backend_store.store, backend_store.http
    await store.put("exp/x.txt", b"soon gone", content_type="text/plain")
    # 3 s, not 1: on a loaded machine the first fetch alone can take longer than a second.
    get_url = await store.presigned_get_url("exp/x.txt", expires_seconds=3)
    put_url = await store.presigned_put_url("exp/y.txt", content_type="text/plain", expires_seconds=3)
    assert (await http.get(get_url)).status_code == 200
    await asyncio.sleep(4.2)
    assert (await http.get(get_url)).status_code == 403
    response = await http.put(put_url, content=b"late", headers={"Content-Type": "text/plain"})
    assert response.status_code == 403
    assert not await store.exists("exp/y.txt")


async def test_tampered_presigned_link_is_refused(backend_store: StoreUnderTest) -> None:
    store, http = backend_store.store, backend_store.http
    await store.put("t/a.txt", b"a", content_type="text/plain")
    await store.put("t/b.txt", b"b", content_type="text/plain")
    url = await store.presigned_get_url("t/a.txt", expires_seconds=60)
    assert (await http.get(url.replace("t/a.txt", "t/b.txt"))).status_code == 403


async def test_s3_ping_fails_when_the_bucket_is_missing(s3_settings: Settings) -> None:
    store = make_storage(s3_settings)  # the bucket is not created: /ready must report storage down
    try:
        with pytest.raises(ClientError):
            await store.ping()
    finally:
        await store.close()
