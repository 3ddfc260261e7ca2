"""Seed 004 over HTTP in embedded mode: submit → 202, worker runs, image fetched through its signed link.

Covers the seed's own verification list: auth (401), queue (202 + job committed),
worker (generate → store → metadata, retries/holds), API status codes, and the
5/minute/user rate limit.
"""

from __future__ import annotations

import asyncio
import base64
import io
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from conjure.app import create_app
from conjure.apps.imagegen.models import Generation
from conjure.jobs.service import events_after
from conjure.jobs.worker import start_embedded
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import User
from tests.apps.imagegen.fakes import FakeServer, Reply, png_bytes
from tests.factories import auth_headers, make_user

Harness = tuple[Runtime, httpx.AsyncClient]
StartApi = Callable[..., Any]


@pytest.fixture
async def start_api(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> AsyncIterator[Callable[..., Any]]:
    """Start runtime + embedded worker + API client with these settings overrides."""
    stack: list[Callable[[], Any]] = []

    async def start(**overrides: Any) -> Harness:
        values = {"database_url": sqlite_url, "public_base_url": "http://test", **overrides}
        settings = make_settings(**values)
        runtime = await Runtime.start(settings)
        stop_worker = await start_embedded(runtime)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://test"
        )

        async def close() -> None:
            await client.aclose()
            await stop_worker()
            await runtime.storage.close()  # until Runtime.close does it
            await runtime.close()

        stack.append(close)
        return runtime, client

    yield start
    for close in reversed(stack):
        await close()


async def wait_done(client: httpx.AsyncClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(400):
        response = await client.get(f"/api/generation/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] not in ("pending", "processing"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"generation {job_id} did not finish: {body}")


async def balances(runtime: Runtime, user_id: uuid.UUID) -> tuple[int, int]:
    async with runtime.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.star_balance, user.stars_held


def openai_at(provider_server: FakeServer) -> dict[str, str]:
    """Settings sending image generation to the fake OpenAI API at ``provider_server``."""
    return {
        "image_provider": "openai",
        "openai_api_key": "sk-test",
        "openai_base_url": f"{provider_server.url}/v1",
    }


async def submit_one(
    runtime: Runtime, client: httpx.AsyncClient, prompt: str = "a cat"
) -> tuple[User, dict[str, str], str]:
    """A new user with one star asks for ``prompt``: the user, their auth headers and the job id."""
    user = await make_user(runtime, stars=1)
    headers = auth_headers(runtime, user)
    response = await client.post("/api/generation", json={"prompt": prompt}, headers=headers)
    assert response.status_code == 202, response.text
    return user, headers, str(response.json()["job_id"])


async def test_generation_end_to_end_offline(start_api: StartApi, backend: dict[str, str]) -> None:
    runtime, client = await start_api(**backend)
    user = await make_user(runtime, stars=3)
    headers = auth_headers(runtime, user)
    response = await client.post("/api/generation", json={"prompt": "a tiny robot"}, headers=headers)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "pending"
    done = await wait_done(client, accepted["job_id"], headers)
    assert done["status"] == "completed"
    assert done["offline_preview"] is True
    assert done["image_url"].startswith("http://test/files/generations/")
    image = await client.get(done["image_url"])  # no auth header: the signed link is the credential
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    decoded = Image.open(io.BytesIO(image.content))
    decoded.load()
    assert (decoded.format, decoded.size) == ("PNG", (1024, 1024))
    assert await balances(runtime, user.id) == (2, 0)  # captured on success only
    async with runtime.db.session() as session:
        row = (await session.execute(select(Generation))).scalar_one()
    assert (row.user_id, str(row.job_id), row.prompt, row.provider) == (
        user.id,
        accepted["job_id"],
        "a tiny robot",
        "offline",
    )
    assert row.bytes == len(image.content)
    generic = await client.get(f"/api/v1/jobs/{accepted['job_id']}", headers=headers)
    assert generic.status_code == 200
    gallery = (await client.get("/api/generations", headers=headers)).json()
    assert [item["job_id"] for item in gallery["items"]] == [accepted["job_id"]]
    async with runtime.db.session() as session:  # what the job's SSE stream replays
        events = await events_after(session, uuid.UUID(accepted["job_id"]), 0)
    assert [e["step"] for e in events if e["type"] == "progress"] == ["generating", "storing"]
    assert events[-1]["type"] == "succeeded"
    tampered = done["image_url"].replace("sig=", "sig=A")
    assert (await client.get(tampered)).status_code == 403


async def test_auth_credits_validation_and_ownership(start_api: StartApi) -> None:
    runtime, client = await start_api()
    assert (await client.post("/api/generation", json={"prompt": "a cat"})).status_code == 401
    broke = await make_user(runtime, stars=0)
    response = await client.post(
        "/api/generation", json={"prompt": "a cat"}, headers=auth_headers(runtime, broke)
    )
    assert response.status_code == 402
    assert response.json()["code"] == "insufficient_stars"
    rich = await make_user(runtime, stars=5)
    headers = auth_headers(runtime, rich)
    for bad in (
        {"prompt": "hi"},
        {"prompt": "x" * 1001},
        {"prompt": "bell\x07 ring"},
        {"prompt": "ok cat", "size": "9x9"},
    ):
        response = await client.post("/api/generation", json=bad, headers=headers)
        assert response.status_code == 422, bad
        assert response.json()["code"] == "validation_error"
    job_id = (await client.post("/api/generation", json={"prompt": "a cat"}, headers=headers)).json()[
        "job_id"
    ]
    other = await make_user(runtime, stars=1)
    assert (
        await client.get(f"/api/generation/{job_id}", headers=auth_headers(runtime, other))
    ).status_code == 404
    assert (await client.get(f"/api/generation/{uuid.uuid4()}", headers=headers)).status_code == 404


async def test_sixth_generation_in_a_minute_is_429(start_api: StartApi, backend: dict[str, str]) -> None:
    runtime, client = await start_api(**backend)
    user = await make_user(runtime, stars=20)
    headers = auth_headers(runtime, user)
    for i in range(5):
        response = await client.post("/api/generation", json={"prompt": f"picture {i}"}, headers=headers)
        assert response.status_code == 202, response.text
    response = await client.post("/api/generation", json={"prompt": "one too many"}, headers=headers)
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) > 0
    other = await make_user(runtime, stars=1)  # the limit is per user
    response = await client.post(
        "/api/generation", json={"prompt": "mine"}, headers=auth_headers(runtime, other)
    )
    assert response.status_code == 202


async def test_a_replay_with_its_idempotency_key_spends_no_generation(
    start_api: StartApi, backend: dict[str, str]
) -> None:
    """A client retrying safely (the same Idempotency-Key) gets its job back, not a 429: only new
    generations count against RATE_LIMIT_GENERATION."""
    runtime, client = await start_api(rate_limit_generation="2/minute", **backend)
    user = await make_user(runtime, stars=20)
    headers = auth_headers(runtime, user)
    keyed = {**headers, "Idempotency-Key": "fox-1"}
    first = await client.post("/api/generation", json={"prompt": "a fox"}, headers=keyed)
    assert first.status_code == 202, first.text
    for _ in range(4):
        again = await client.post("/api/generation", json={"prompt": "a fox"}, headers=keyed)
        assert (again.status_code, again.json()["job_id"]) == (202, first.json()["job_id"])
    second = await client.post("/api/generation", json={"prompt": "an owl"}, headers=headers)
    assert second.status_code == 202, second.text
    third = await client.post(
        "/api/generation", json={"prompt": "a hare"}, headers={**headers, "Idempotency-Key": "hare-1"}
    )
    assert (third.status_code, third.json()["code"]) == (429, "rate_limited")


@pytest.fixture
def provider_server() -> Any:
    server = FakeServer().start()
    yield server
    server.stop()


async def test_provider_failure_fails_the_job_and_releases_the_hold(
    start_api: StartApi, provider_server: FakeServer
) -> None:
    provider_server.on("GET", "/tmp/x.png", Reply(200, b"<html>oops</html>", {"Content-Type": "text/html"}))
    provider_server.on(
        "POST",
        "/v1/images/generations",
        Reply.json({"created": 1, "data": [{"url": f"{provider_server.url}/tmp/x.png"}]}),
    )
    runtime, client = await start_api(**openai_at(provider_server))
    user, headers, job_id = await submit_one(runtime, client)
    done = await wait_done(client, job_id, headers)
    assert done["status"] == "failed"
    assert done["error"]["code"] == "not_an_image"
    assert done["image_url"] is None
    assert await balances(runtime, user.id) == (1, 0)


async def test_openai_429_is_retried_by_the_engine(start_api: StartApi, provider_server: FakeServer) -> None:
    limited = Reply.json(
        {"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}, 429
    )
    ok = Reply.json({"created": 1, "data": [{"b64_json": base64.b64encode(png_bytes(48, 32)).decode()}]})
    provider_server.on("POST", "/v1/images/generations", limited, ok)
    runtime, client = await start_api(**openai_at(provider_server))
    user, headers, job_id = await submit_one(runtime, client)
    done = await wait_done(client, job_id, headers)
    assert done["status"] == "completed", done
    assert (done["width"], done["height"]) == (48, 32)
    assert len(provider_server.requests("POST", "/v1/images/generations")) == 2
    assert await balances(runtime, user.id) == (0, 0)


@pytest.fixture(scope="module")
def s3_endpoint() -> Any:
    from tests.storage.s3server import start_s3_server

    server, endpoint = start_s3_server()
    yield endpoint
    server.stop()


async def test_generation_lands_in_s3_with_a_presigned_link(start_api: StartApi, s3_endpoint: str) -> None:
    from tests.storage.s3server import ACCESS_KEY, REGION, SECRET_KEY

    bucket = f"pixelpop-{uuid.uuid4().hex[:8]}"
    runtime, client = await start_api(
        storage_url=f"s3://{bucket}/prod",
        s3_endpoint_url=s3_endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_region=REGION,
    )
    s3 = await runtime.storage._s3()  # type: ignore[attr-defined]
    await s3.create_bucket(Bucket=bucket)
    user, headers, job_id = await submit_one(runtime, client, "a red fox")
    done = await wait_done(client, job_id, headers)
    assert done["status"] == "completed", done
    assert done["image_url"].startswith(f"{s3_endpoint}/{bucket}/prod/generations/{user.id}/{job_id}.png?")
    assert "X-Amz-Signature=" in done["image_url"]
    async with httpx.AsyncClient() as http:
        image = await http.get(done["image_url"])
    assert image.status_code == 200
    decoded = Image.open(io.BytesIO(image.content))
    decoded.load()
    assert decoded.format == "PNG"


async def test_processing_status_shows_the_step(start_api: StartApi, provider_server: FakeServer) -> None:
    slow = Reply.json({"created": 1, "data": [{"b64_json": base64.b64encode(png_bytes()).decode()}]})
    slow.delay = 1.0
    provider_server.on("POST", "/v1/images/generations", slow)
    runtime, client = await start_api(**openai_at(provider_server))
    _, headers, job_id = await submit_one(runtime, client)
    seen = set()
    for _ in range(100):
        body = (await client.get(f"/api/generation/{job_id}", headers=headers)).json()
        seen.add((body["status"], body["step"]))
        if body["status"] == "completed":
            break
        await asyncio.sleep(0.03)
    assert ("processing", "generating") in seen
    assert ("completed", None) in seen
