"""Circuit breakers beyond the model providers: Stripe's opens on an outage (503 with Retry-After,
Stripe not called), shows in /metrics and /ready, and closes after a successful trial call; a job's
guarded call is delayed, not made, while its breaker is open."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from conjure.ai.breaker import CircuitBreaker, breaker_for, breaker_warnings, guard_job_call
from conjure.jobs.registry import RetryableJobError
from tests.payments.conftest import Shop
from tests.payments.stripe_server import FakeStripe


def _stripe_state(metrics: str) -> float:
    found = re.search(r'conjure_provider_breaker_state\{provider="stripe",service="stripe"\} (\S+)', metrics)
    assert found is not None, "no stripe breaker gauge"
    return float(found.group(1))


async def test_stripe_breaker_opens_refuses_then_closes_after_a_trial(
    shop_factory: Callable[..., Awaitable[Shop]],
    sqlite_url: str,
    stripe_server: FakeStripe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop = await shop_factory(sqlite_url, ai_breaker_failures=2, ai_breaker_cooldown_seconds=1.0)
    # The breaker's clock is the test's: on a loaded box the cooldown would pass between the calls.
    now = [0.0]
    breaker_for("stripe", shop.runtime.settings, service="stripe").clock = lambda: now[0]
    _, headers = await shop.user()
    real_create = stripe_server._create

    def outage(form: dict[str, Any], idem: str | None) -> tuple[int, dict[str, Any]]:
        return 503, {"error": {"type": "api_error", "message": "Stripe is down."}}

    monkeypatch.setattr(stripe_server, "_create", outage)

    async def create_intent() -> Any:
        return await shop.client.post(
            "/api/v1/payment/create-intent", json={"package": "popular"}, headers=headers
        )

    for _ in range(2):
        assert (await create_intent()).status_code == 502  # Stripe answered 503: counted
    calls = len(stripe_server.creates())
    refused = await create_intent()
    assert refused.status_code == 503
    assert refused.json()["code"] == "provider_unavailable"
    assert refused.headers["retry-after"] == "1"
    assert len(stripe_server.creates()) == calls  # not called while open
    assert _stripe_state((await shop.client.get("/metrics")).text) == 2
    ready = (await shop.client.get("/ready")).json()
    assert any("stripe" in w and "open" in w for w in ready["warnings"])

    monkeypatch.setattr(stripe_server, "_create", real_create)
    now[0] += 1.1  # the cooldown: one trial call goes through, succeeds, closes it
    assert (await create_intent()).status_code == 200
    assert _stripe_state((await shop.client.get("/metrics")).text) == 0
    assert not [w for w in (await shop.client.get("/ready")).json()["warnings"] if "stripe" in w]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_job_call_is_not_made_while_the_breaker_is_open_and_a_trial_closes_it() -> None:
    clock = Clock()
    breaker = CircuitBreaker("speech-test", failures=2, cooldown=30, clock=clock, service="speech")
    calls: list[str] = []

    async def outage() -> str:
        calls.append("outage")
        raise ConnectionError("provider down")

    async def answer() -> str:
        calls.append("answer")
        return "ok"

    for _ in range(2):
        with pytest.raises(ConnectionError):
            await guard_job_call(breaker, outage, transient=lambda exc: True)
    with pytest.raises(RetryableJobError) as delayed:
        await guard_job_call(breaker, answer, transient=lambda exc: True, what="The speech model")
    assert delayed.value.code == "provider_unavailable"
    assert delayed.value.retry_after == 30
    assert calls == ["outage", "outage"]  # the open breaker made no call
    assert any("speech provider 'speech-test' is open" in w for w in breaker_warnings())
    assert (
        REGISTRY.get_sample_value(
            "conjure_provider_breaker_state", {"provider": "speech-test", "service": "speech"}
        )
        == 2
    )

    clock.now += 31  # the cooldown: one trial goes through
    assert await guard_job_call(breaker, answer, transient=lambda exc: True) == "ok"
    assert breaker.state == "closed"
    assert not [w for w in breaker_warnings() if "speech-test" in w]
    assert (
        REGISTRY.get_sample_value(
            "conjure_provider_breaker_state", {"provider": "speech-test", "service": "speech"}
        )
        == 0
    )


async def test_a_refusal_is_not_an_outage() -> None:
    breaker = CircuitBreaker("replicate-test", failures=1, cooldown=30, service="replicate")

    async def refused() -> None:
        raise ValueError("content policy")

    for _ in range(3):
        with pytest.raises(ValueError, match="content policy"):
            await guard_job_call(breaker, refused, transient=lambda exc: not isinstance(exc, ValueError))
    assert breaker.state == "closed"
