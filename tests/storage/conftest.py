"""Storage fixtures: a local store, and an S3 store on a local S3-compatible server (one bucket per test)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from conjure.errors import install_error_handlers
from conjure.settings import Settings
from conjure.storage.base import ObjectStore
from conjure.storage.local import LocalObjectStore
from conjure.storage.router import router as storage_router
from conjure.storage.s3 import S3ObjectStore
from conjure.storage.service import make_storage
from tests.storage.s3server import ACCESS_KEY, REGION, SECRET_KEY, start_s3_server


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server, endpoint = start_s3_server()
    yield endpoint
    server.stop()


@pytest.fixture
def s3_settings(make_settings: Callable[..., Settings], s3_endpoint: str) -> Settings:
    bucket = f"conjure-{uuid.uuid4().hex[:12]}"
    return make_settings(
        storage_url=f"s3://{bucket}/objects",
        s3_endpoint_url=s3_endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_region=REGION,
    )


async def open_s3_store(settings: Settings) -> S3ObjectStore:
    """An S3 store on the local server, with its bucket created."""
    store = make_storage(settings)
    assert isinstance(store, S3ObjectStore)
    client = await store._s3()
    await client.create_bucket(Bucket=store.bucket)
    return store


@pytest.fixture
async def s3_store(s3_settings: Settings) -> AsyncIterator[S3ObjectStore]:
    store = await open_s3_store(s3_settings)
    yield store
    await store.close()


@pytest.fixture
def local_store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects", secret="s" * 40, base_url="http://test")


def files_app(store: LocalObjectStore) -> FastAPI:
    """The API's /files routes serving ``store`` (what embedded mode runs)."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(storage_router)
    app.state.runtime = SimpleNamespace(storage=store)
    return app


@dataclass
class StoreUnderTest:
    store: ObjectStore
    http: httpx.AsyncClient  # reaches the store's presigned URLs


@pytest.fixture(params=["local", "s3"])
async def backend_store(request: pytest.FixtureRequest) -> AsyncIterator[StoreUnderTest]:
    """The same contract on both backends, with an HTTP client that can follow their links."""
    if request.param == "local":
        store: ObjectStore = request.getfixturevalue("local_store")
        assert isinstance(store, LocalObjectStore)
        transport = httpx.ASGITransport(app=files_app(store))
        async with httpx.AsyncClient(transport=transport) as http:
            yield StoreUnderTest(store, http)
    else:
        s3 = await open_s3_store(request.getfixturevalue("s3_settings"))
        try:
            async with httpx.AsyncClient() as http:
                yield StoreUnderTest(s3, http)
        finally:
            await s3.close()
