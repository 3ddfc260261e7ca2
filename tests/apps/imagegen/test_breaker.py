"""An image provider that keeps failing trips its circuit breaker: it is not called until the
cooldown ends, the job is retried no sooner than that, and one trial call then closes it."""

from __future__ import annotations

import base64

import pytest

from conjure.ai.breaker import CLOSED, OPEN, breaker_for
from conjure.apps.imagegen.tasks import generate_image
from conjure.jobs.registry import JobDeferred, RetryableJobError
from tests.apps.imagegen.fakes import FakeServer, Reply, png_bytes
from tests.apps.imagegen.test_tasks import OPENAI_PATH, MakeContext, openai_settings

DOWN = Reply.json({"error": {"message": "down", "type": "server_error", "code": None}}, 500)
OK = Reply.json({"created": 1, "data": [{"b64_json": base64.b64encode(png_bytes()).decode()}]})


class Clock:
    now = 500.0

    def __call__(self) -> float:
        return self.now


async def test_a_failing_image_provider_is_skipped_until_its_cooldown_ends(
    make_context: MakeContext, provider_server: FakeServer
) -> None:
    settings = {
        **openai_settings(provider_server),
        "ai_breaker_failures": 2,
        "ai_breaker_cooldown_seconds": 30,
    }
    ctx = make_context(**settings)
    breaker = breaker_for("image-openai", ctx.settings)
    clock = breaker.clock = Clock()
    provider_server.on("POST", OPENAI_PATH, DOWN, DOWN, OK)
    for _ in range(2):
        with pytest.raises(RetryableJobError):
            await generate_image(make_context(**settings))
    assert breaker.state == OPEN
    clock.now += 10
    with pytest.raises(RetryableJobError) as caught:
        await generate_image(make_context(**settings))
    assert len(provider_server.requests("POST", OPENAI_PATH)) == 2  # not called while open
    assert caught.value.retry_after == pytest.approx(20)
    assert isinstance(caught.value, JobDeferred)  # not tried: a delay that spends no attempt
    clock.now += 20
    result = await generate_image(make_context(**settings))
    assert result["provider"] == "openai"
    assert len(provider_server.requests("POST", OPENAI_PATH)) == 3
    assert breaker.state == CLOSED
