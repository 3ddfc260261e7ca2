"""Stripe's circuit breaker: opens on an outage (503 with Retry-After, Stripe not called), shows in
/metrics and /ready, and closes again after a successful trial call."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

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
    await asyncio.sleep(1.1)  # the cooldown: one trial call goes through, succeeds, closes it
    assert (await create_intent()).status_code == 200
    assert _stripe_state((await shop.client.get("/metrics")).text) == 0
    assert not [w for w in (await shop.client.get("/ready")).json()["warnings"] if "stripe" in w]
