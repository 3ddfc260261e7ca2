"""The local backend's signed links and the backend choice by STORAGE_URL."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from conjure.settings import Settings
from conjure.storage.local import InvalidLinkSignature, LinkExpired, LinkSigner, LocalObjectStore
from conjure.storage.s3 import S3ObjectStore
from conjure.storage.service import make_storage
from tests.storage.conftest import files_app


def test_signer_refuses_tampering_and_expiry() -> None:
    signer = LinkSigner("secret-" * 6)
    exp = int(time.time()) + 60
    sig = signer.sign("GET", "a/b.png", exp)
    signer.verify("GET", "a/b.png", exp, sig)
    with pytest.raises(InvalidLinkSignature):
        signer.verify("GET", "a/c.png", exp, sig)
    with pytest.raises(InvalidLinkSignature):
        signer.verify("GET", "a/b.png", exp + 3600, sig)  # stretched expiry
    with pytest.raises(InvalidLinkSignature):
        signer.verify("PUT", "a/b.png", exp, sig)  # another verb
    with pytest.raises(InvalidLinkSignature):
        LinkSigner("other-" * 6).verify("GET", "a/b.png", exp, sig)
    with pytest.raises(LinkExpired):
        signer.verify("GET", "a/b.png", exp, sig, now=exp + 1)


async def test_files_route_answers_problems(local_store: LocalObjectStore) -> None:
    await local_store.put("g/x.png", b"data", content_type="image/png")
    url = await local_store.presigned_get_url("g/x.png", expires_seconds=60)
    query = parse_qs(urlsplit(url).query)
    transport = httpx.ASGITransport(app=files_app(local_store))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        ok = await http.get(url)
        assert ok.status_code == 200
        assert "max-age=" in ok.headers["cache-control"]
        bad = await http.get("/files/g/x.png", params={"exp": query["exp"][0], "sig": "A" * 43})
        assert bad.status_code == 403
        assert bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["code"] == "invalid_link_signature"
        missing = await http.get("/files/g/x.png")
        assert missing.status_code == 422
        traversal = await http.get("/files/..%2F..%2Fetc%2Fpasswd", params={"exp": 1, "sig": "x"})
        assert traversal.status_code in (400, 403, 404)


async def test_non_ascii_signature_is_a_wrong_signature(local_store: LocalObjectStore) -> None:
    await local_store.put("g/z.png", b"data", content_type="image/png")
    transport = httpx.ASGITransport(app=files_app(local_store))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for method in ("GET", "PUT"):
            response = await http.request(method, "/files/g/z.png?exp=1&sig=%C3%A9", content=b"x")
            assert response.status_code == 403, (method, response.text)
            assert response.json()["code"] == "invalid_link_signature"
    assert await local_store.get("g/z.png") == b"data"
    with pytest.raises(InvalidLinkSignature):
        local_store.signer.verify("GET", "g/z.png", 1, "\udce9\u00e9")


async def test_expired_local_link_is_refused_with_its_code(local_store: LocalObjectStore) -> None:
    await local_store.put("g/y.png", b"data", content_type="image/png")
    exp = int(time.time()) - 1
    sig = local_store.signer.sign("GET", "g/y.png", exp)
    transport = httpx.ASGITransport(app=files_app(local_store))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/files/g/y.png", params={"exp": exp, "sig": sig})
    assert response.status_code == 403
    assert response.json()["code"] == "link_expired"


def test_make_storage_picks_the_backend(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    local = make_storage(make_settings(storage_url=f"file://{tmp_path}/o"))
    assert isinstance(local, LocalObjectStore)
    assert local.root == (tmp_path / "o").resolve()
    s3 = make_storage(make_settings(storage_url="s3://bucket/some/prefix", s3_endpoint_url="http://x"))
    assert isinstance(s3, S3ObjectStore)
    assert s3.bucket == "bucket"
    assert s3.object_name("k.png") == "some/prefix/k.png"
    with pytest.raises(ValueError, match="STORAGE_URL"):
        make_storage(make_settings(storage_url="ftp://nope"))
