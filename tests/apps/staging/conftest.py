"""Staging fixtures: the API with an embedded worker on either backend and either store, photos, uploads."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import ExifTags, Image

from conjure.app import create_app
from conjure.events.types import START
from conjure.jobs.worker import start_embedded
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import User
from tests.apps.staging.replicate_peer import ReplicatePeer
from tests.factories import auth_headers, make_user
from tests.storage.conftest import open_s3_store
from tests.storage.s3server import ACCESS_KEY, REGION, SECRET_KEY, start_s3_server

BASE = "http://test"


@pytest.fixture(scope="session")
def staging_s3_endpoint() -> Iterator[str]:
    server, endpoint = start_s3_server()
    yield endpoint
    server.stop()


@pytest.fixture(params=["embedded+local", "postgres_redis+s3"])
def stack(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The embedded default (SQLite, local files) and production's shape (PostgreSQL, Redis, S3)."""
    if request.param == "embedded+local":
        return {"database_url": request.getfixturevalue("sqlite_url")}
    endpoint = request.getfixturevalue("staging_s3_endpoint")
    return {
        "database_url": request.getfixturevalue("pg_url"),
        "redis_url": request.getfixturevalue("redis_url"),
        "storage_url": f"s3://staging-{uuid.uuid4().hex[:12]}/objects",
        "s3_endpoint_url": endpoint,
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
        "aws_region": REGION,
    }


@dataclass
class Api:
    runtime: Runtime
    client: httpx.AsyncClient  # the API, in process
    http: httpx.AsyncClient  # anything else over TCP (the S3 server)

    async def user(self, stars: int = 5) -> tuple[User, dict[str, str]]:
        user = await make_user(self.runtime, stars=stars)
        return user, auth_headers(self.runtime, user)

    async def balances(self, user_id: uuid.UUID) -> tuple[int, int]:
        async with self.runtime.db.session() as session:
            user = await session.get(User, user_id)
            assert user is not None
            return user.star_balance, user.stars_held

    async def project(self, headers: dict[str, str], name: str = "12 Elm Street") -> str:
        response = await self.client.post("/api/v1/projects", json={"name": name}, headers=headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def upload(self, headers: dict[str, str], data: bytes, content_type: str = "image/jpeg") -> str:
        """Presign, then send the bytes the way the web page does (straight to storage)."""
        body = {"filename": "room.jpg", "content_type": content_type, "size": len(data)}
        response = await self.client.post("/api/v1/uploads/presign", json=body, headers=headers)
        assert response.status_code == 200, response.text
        presigned = response.json()
        sent = await send_upload(
            self.client if presigned["url"].startswith(BASE) else self.http, presigned, data
        )
        assert sent.status_code in (200, 201, 204), sent.text
        return str(presigned["key"])

    async def events_of(
        self, user_id: uuid.UUID, type_: str, *, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """The data of the user's ``type_`` events on the platform's stream, once there are ``count``
        (the engine publishes ``image.ready`` just after the commit the image's status shows)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            sent = await self.runtime.user_events.replay(user_id, START)
            found = [event.payload() for event in sent if event.type == type_]
            if len(found) >= count or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(0.02)

    async def fetch(self, url: str) -> httpx.Response:
        return await (self.client if url.startswith(BASE) else self.http).get(url)

    async def wait_image(
        self, image_id: str, headers: dict[str, str], timeout: float = 30.0
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            response = await self.client.get(f"/api/v1/images/{image_id}", headers=headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] in ("ready", "failed", "canceled"):
                return body
            assert asyncio.get_running_loop().time() < deadline, f"image not done: {body}"
            await asyncio.sleep(0.05)


async def send_upload(http: httpx.AsyncClient, presigned: dict[str, Any], data: bytes) -> httpx.Response:
    if presigned["method"] == "POST":
        return await http.post(presigned["url"], data=presigned["fields"], files={"file": ("room.jpg", data)})
    return await http.put(presigned["url"], content=data, headers=presigned["headers"])


StartApi = Callable[..., Any]


@pytest.fixture
async def start_api(make_settings: Callable[..., Settings]) -> AsyncIterator[StartApi]:
    """Start runtime + embedded worker + API client; ``overrides`` include the app's settings."""
    stack: list[Callable[[], Any]] = []

    async def start(**overrides: Any) -> Api:
        # A database is always given: the tests' ``sqlite_url`` or ``backend``/``stack``.
        assert "database_url" in overrides
        settings = make_settings(public_base_url=BASE, **overrides)
        if settings.resolved_storage_url.startswith("s3://"):
            store = await open_s3_store(settings)  # creates the bucket
            await store.close()
        runtime = await Runtime.start(settings)
        stop_worker = await start_embedded(runtime)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url=BASE
        )
        http = httpx.AsyncClient()

        async def close() -> None:
            await client.aclose()
            await http.aclose()
            await stop_worker()
            await runtime.close()

        stack.append(close)
        return Api(runtime, client, http)

    yield start
    for close in reversed(stack):
        await close()


def room_photo(
    width: int = 640,
    height: int = 480,
    *,
    orientation: int | None = None,
    gps: bool = False,
    fmt: str = "JPEG",
) -> bytes:
    """An "empty room": a wall, a floor, a window; optionally with EXIF orientation and GPS."""
    image = Image.new("RGB", (width, height), (214, 208, 196))
    floor = Image.new("RGB", (width, height * 2 // 5), (150, 118, 84))
    image.paste(floor, (0, height * 3 // 5))
    image.paste(Image.new("RGB", (width // 5, height // 4), (180, 210, 235)), (width // 2, height // 6))
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.Base.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (52.0, 22.0, 12.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (4.0, 53.0, 30.0),
        }
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif)
    return out.getvalue()


@pytest.fixture
def peer() -> Iterator[ReplicatePeer]:
    """A Replicate stand-in speaking its predictions API, for the tests of the Replicate path."""
    server = ReplicatePeer().start()
    yield server
    server.stop()
