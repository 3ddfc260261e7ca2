"""The image job handler end to end against local provider servers (real SDK and httpx code)."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Callable

import pytest
from PIL import Image

from conjure.apps.imagegen.providers import OFFLINE_LABEL, render_offline_png
from conjure.apps.imagegen.tasks import generate_image, generation_key
from conjure.jobs.registry import PermanentJobError, RetryableJobError
from conjure.storage.local import LocalObjectStore
from tests.apps.imagegen.fakes import FakeJobContext, FakeServer, Reply, png_bytes

FLUX = "/v1/models/black-forest-labs/flux-schnell/predictions"
MakeContext = Callable[..., FakeJobContext]
OPENAI_PATH = "/v1/images/generations"


def openai_settings(server: FakeServer) -> dict[str, object]:
    return {
        "image_provider": "openai",
        "openai_api_key": "sk-test",
        "openai_base_url": f"{server.url}/v1",
        "openai_image_model": "gpt-image-1",
    }


def replicate_settings(server: FakeServer) -> dict[str, object]:
    return {
        "image_provider": "replicate",
        "replicate_api_token": "r8_test",
        "replicate_base_url": server.url,
        "replicate_model": "black-forest-labs/flux-schnell",
        "replicate_poll_interval_seconds": 0.01,
    }


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def test_offline_writes_a_real_labelled_png(make_context: MakeContext, store: LocalObjectStore) -> None:
    ctx = make_context(prompt="  a lighthouse at dusk  ", size="1536x1024")
    result = await generate_image(ctx)
    key = generation_key(ctx.user_id, ctx.job_id)
    assert result["object_key"] == key == f"generations/{ctx.user_id}/{ctx.job_id}.png"
    image = decode(await store.get(key))
    assert (image.format, image.size) == ("PNG", (1536, 1024))
    assert image.info.get("Comment") == OFFLINE_LABEL
    assert result["offline_preview"] is True
    assert (result["width"], result["height"], result["provider"]) == (1536, 1024, "offline")
    assert result["bytes"] == len(await store.get(key))
    assert set(result["timings_ms"]) == {"generate", "download", "store", "total"}
    assert [u["cost_usd"] for u in ctx.usage] == [0.0]
    assert ctx.steps == ["generating", "storing"]


def test_offline_is_deterministic_per_prompt() -> None:
    one = render_offline_png("a red fox", "1024x1024")
    assert one == render_offline_png("a red fox", "1024x1024")
    assert one != render_offline_png("a blue fox", "1024x1024")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"prompt": "hi", "size": "1024x1024"}, "invalid_prompt"),
        ({"prompt": "a cat", "size": "7x7"}, "invalid_size"),
    ],
)
async def test_bad_payload_fails_permanently(
    make_context: MakeContext, payload: dict[str, str], code: str
) -> None:
    ctx = make_context()
    ctx.payload = payload
    with pytest.raises(PermanentJobError) as caught:
        await generate_image(ctx)
    assert caught.value.code == code


async def test_openai_b64_json(
    make_context: MakeContext, provider_server: FakeServer, store: LocalObjectStore
) -> None:
    jpeg = png_bytes(40, 30, fmt="JPEG")
    provider_server.on(
        "POST",
        OPENAI_PATH,
        Reply.json({"created": 1, "data": [{"b64_json": base64.b64encode(jpeg).decode()}]}),
    )
    ctx = make_context(**openai_settings(provider_server))
    result = await generate_image(ctx)
    sent = provider_server.requests("POST", OPENAI_PATH)[0]
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.json() == {
        "model": "gpt-image-1",
        "prompt": "a red fox in the snow",
        "size": "1024x1024",
        "n": 1,
    }
    stored = decode(await store.get(result["object_key"]))
    assert (stored.format, stored.size) == ("PNG", (40, 30))  # JPEG from the model, stored as PNG
    assert (result["provider"], result["model"], result["offline_preview"]) == (
        "openai",
        "gpt-image-1",
        False,
    )
    # Its cost goes to the usage reports: the list price, or what the operator set.
    assert ctx.usage == [{"provider": "openai", "model": "gpt-image-1", "step": "image", "cost_usd": 0.042}]


async def test_openai_url_is_downloaded(make_context: MakeContext, provider_server: FakeServer) -> None:
    provider_server.on("GET", "/tmp/img.png", Reply(200, png_bytes(), {"Content-Type": "image/png"}))
    provider_server.on(
        "POST",
        OPENAI_PATH,
        Reply.json({"created": 1, "data": [{"url": f"{provider_server.url}/tmp/img.png"}]}),
    )
    ctx = make_context(**openai_settings(provider_server))
    result = await generate_image(ctx)
    assert (result["width"], result["height"]) == (32, 24)
    assert ctx.steps == ["generating", "downloading", "storing"]


async def test_openai_429_is_retryable_then_succeeds(
    make_context: MakeContext, provider_server: FakeServer
) -> None:
    limited = Reply.json(
        {"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}, 429
    )
    ok = Reply.json({"created": 1, "data": [{"b64_json": base64.b64encode(png_bytes()).decode()}]})
    provider_server.on("POST", OPENAI_PATH, limited, ok)
    ctx = make_context(**openai_settings(provider_server))
    with pytest.raises(RetryableJobError):
        await generate_image(ctx)
    ctx.attempt = 2
    result = await generate_image(ctx)
    assert result["provider"] == "openai"
    # One request per attempt: the SDK's own retries are off, the engine owns backoff.
    assert len(provider_server.requests("POST", OPENAI_PATH)) == 2


async def test_openai_content_policy_is_permanent(
    make_context: MakeContext, provider_server: FakeServer
) -> None:
    refused = {
        "error": {"message": "no", "type": "invalid_request_error", "code": "content_policy_violation"}
    }
    provider_server.on("POST", OPENAI_PATH, Reply.json(refused, 400))
    with pytest.raises(PermanentJobError) as caught:
        await generate_image(make_context(**openai_settings(provider_server)))
    assert caught.value.code == "content_policy"


def _prediction(server: FakeServer, status: str, output: object = None, error: str | None = None) -> Reply:
    body = {
        "id": "p1",
        "status": status,
        "output": output,
        "error": error,
        "urls": {"get": f"{server.url}/v1/predictions/p1"},
    }
    return Reply.json(body, 201 if status == "starting" else 200)


async def test_replicate_create_poll_download(make_context: MakeContext, provider_server: FakeServer) -> None:
    out = f"{provider_server.url}/delivery/out.png"
    provider_server.on("POST", FLUX, _prediction(provider_server, "starting"))
    provider_server.on(
        "GET",
        "/v1/predictions/p1",
        _prediction(provider_server, "processing"),
        _prediction(provider_server, "succeeded", [out]),
    )
    provider_server.on(
        "GET", "/delivery/out.png", Reply(200, png_bytes(64, 48), {"Content-Type": "image/png"})
    )
    ctx = make_context(size="1536x1024", **replicate_settings(provider_server))
    result = await generate_image(ctx)
    create = provider_server.requests("POST", FLUX)[0]
    assert create.headers["authorization"] == "Bearer r8_test"
    assert create.json()["input"]["aspect_ratio"] == "3:2"
    assert len(provider_server.requests("GET", "/v1/predictions/p1")) == 2
    assert (result["provider"], result["width"], result["height"]) == ("replicate", 64, 48)
    assert [u["cost_usd"] for u in ctx.usage] == [0.003]


async def test_replicate_version_pinned_and_429_then_success(
    make_context: MakeContext, provider_server: FakeServer
) -> None:
    out = f"{provider_server.url}/delivery/out.png"
    provider_server.on(
        "POST",
        "/v1/predictions",
        Reply.json({"detail": "throttled"}, 429, **{"Retry-After": "1"}),
        _prediction(provider_server, "succeeded", out),
    )
    provider_server.on("GET", "/delivery/out.png", Reply(200, png_bytes(), {"Content-Type": "image/png"}))
    ctx = make_context(**{**replicate_settings(provider_server), "replicate_model": "owner/model:abc123"})
    with pytest.raises(RetryableJobError):
        await generate_image(ctx)
    result = await generate_image(ctx)
    assert provider_server.requests("POST", "/v1/predictions")[1].json()["version"] == "abc123"
    assert result["provider"] == "replicate"


async def test_replicate_failed_prediction_is_permanent(
    make_context: MakeContext, provider_server: FakeServer
) -> None:
    provider_server.on("POST", FLUX, _prediction(provider_server, "starting"))
    provider_server.on(
        "GET", "/v1/predictions/p1", _prediction(provider_server, "failed", error="NSFW content")
    )
    with pytest.raises(PermanentJobError) as caught:
        await generate_image(make_context(**replicate_settings(provider_server)))
    assert caught.value.code == "provider_failed"
    assert "NSFW" in caught.value.message


async def test_replicate_prediction_is_canceled_when_the_job_times_out(
    make_context: MakeContext, provider_server: FakeServer
) -> None:
    provider_server.on("POST", FLUX, _prediction(provider_server, "starting"))
    provider_server.on("GET", "/v1/predictions/p1", _prediction(provider_server, "processing"))
    provider_server.on("POST", "/v1/predictions/p1/cancel", _prediction(provider_server, "canceled"))
    task = asyncio.create_task(generate_image(make_context(**replicate_settings(provider_server))))
    for _ in range(500):  # until the prediction exists and is being waited on (however loaded the box)
        if provider_server.requests("GET", "/v1/predictions/p1"):
            break
        await asyncio.sleep(0.01)
    task.cancel()  # what the engine's timeout does to a handler
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(provider_server.requests("POST", "/v1/predictions/p1/cancel")) == 1


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (Reply(200, b"x" * 5000, {"Content-Type": "image/png"}), "image_too_large"),
        (Reply(200, b"x" * 5000, {"Content-Type": "image/png"}, send_length=False), "image_too_large"),
        (Reply(200, b"<html>login</html>", {"Content-Type": "text/html"}), "not_an_image"),
        (Reply(200, b"not really a png", {"Content-Type": "image/png"}), "not_an_image"),
        (Reply(403, b"denied", {"Content-Type": "text/plain"}), "image_download_failed"),
    ],
)
async def test_bad_provider_url_fails_clearly(
    make_context: MakeContext,
    provider_server: FakeServer,
    store: LocalObjectStore,
    reply: Reply,
    code: str,
) -> None:
    provider_server.on("GET", "/tmp/img.png", reply)
    provider_server.on(
        "POST",
        OPENAI_PATH,
        Reply.json({"created": 1, "data": [{"url": f"{provider_server.url}/tmp/img.png"}]}),
    )
    ctx = make_context(image_max_download_bytes=4096, **openai_settings(provider_server))
    with pytest.raises(PermanentJobError) as caught:
        await generate_image(ctx)
    assert caught.value.code == code
    assert not await store.exists(generation_key(ctx.user_id, ctx.job_id))


async def test_download_5xx_is_retryable(make_context: MakeContext, provider_server: FakeServer) -> None:
    provider_server.on("GET", "/tmp/img.png", Reply(503, b"busy"))
    provider_server.on(
        "POST",
        OPENAI_PATH,
        Reply.json({"created": 1, "data": [{"url": f"{provider_server.url}/tmp/img.png"}]}),
    )
    with pytest.raises(RetryableJobError):
        await generate_image(make_context(**openai_settings(provider_server)))


async def test_provider_calls_are_bounded_per_process(
    make_context: MakeContext, provider_server: FakeServer
) -> None:
    ok = Reply.json({"created": 1, "data": [{"b64_json": base64.b64encode(png_bytes()).decode()}]})
    ok.delay = 0.2
    provider_server.on("POST", OPENAI_PATH, ok)
    settings = {**openai_settings(provider_server), "image_max_concurrency": 2}
    contexts = [make_context(prompt=f"picture number {i}", **settings) for i in range(6)]
    results = await asyncio.gather(*(generate_image(ctx) for ctx in contexts))
    assert len(results) == 6
    assert provider_server.peak_in_flight == 2
