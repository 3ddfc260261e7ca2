"""Payments fixtures: a local Stripe, a runtime pointed at it, and helpers to buy and to sign events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from conjure.app import create_app
from conjure.payments.models import Payment
from conjure.payments.stripe_client import close_gateway
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import User
from conjure.wallet.service import check_consistency
from tests.factories import auth_headers, make_user
from tests.payments.stripe_server import API_KEY, FakeStripe, make_event, sign

OLD_SECRET = "whsec_old_rotated_out_soon"
NEW_SECRET = "whsec_new_current"


@pytest.fixture
def stripe_server() -> Iterator[FakeStripe]:
    server = FakeStripe()
    server.start()
    yield server
    server.stop()


@dataclass
class Shop:
    """One runtime + API client against the local Stripe, with the steps a purchase takes."""

    runtime: Runtime
    client: httpx.AsyncClient
    stripe: FakeStripe

    async def user(self) -> tuple[User, dict[str, str]]:
        user = await make_user(self.runtime)
        return user, auth_headers(self.runtime, user)

    async def buy(self, headers: dict[str, str], package: str = "popular") -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/payment/create-intent", json={"package": package}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def deliver(
        self,
        event_type: str,
        obj: dict[str, Any],
        *,
        event_id: str | None = None,
        secret: str = NEW_SECRET,
        timestamp: int | None = None,
    ) -> httpx.Response:
        payload = make_event(event_type, obj, event_id)
        return await self.post_event(payload, sign(payload, secret, timestamp))

    async def post_event(self, payload: bytes, signature: str) -> httpx.Response:
        return await self.client.post(
            "/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )

    async def balance(self, user_id: uuid.UUID) -> int:
        async with self.runtime.db.session() as session:
            stars = await session.scalar(select(User.star_balance).where(User.id == user_id))
        return int(stars or 0)

    async def payment(self, intent_id: str) -> Payment:
        async with self.runtime.db.session() as session:
            stmt = select(Payment).where(Payment.stripe_payment_intent_id == intent_id)
            return (await session.execute(stmt)).scalar_one()

    async def assert_ledger_consistent(self) -> None:
        async with self.runtime.db.session() as session:
            problems = await check_consistency(session)
        assert problems == [], [str(p) for p in problems]


def stripe_overrides(stripe: FakeStripe, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "stripe_api_key": API_KEY,
        "stripe_api_base": stripe.url,
        "stripe_webhook_secret": [OLD_SECRET, NEW_SECRET],
        "stripe_timeout_seconds": 5.0,
    }
    values.update(extra)
    return values


@pytest.fixture
async def shop_factory(
    make_settings: Callable[..., Settings], stripe_server: FakeStripe
) -> AsyncIterator[Callable[..., Awaitable[Shop]]]:
    """Build Shops on a given database URL (SQLite or PostgreSQL); all closed at teardown."""
    opened: list[Shop] = []

    async def build(database_url: str, **extra: Any) -> Shop:
        settings = make_settings(database_url=database_url, **stripe_overrides(stripe_server, **extra))
        runtime = await Runtime.start(settings)
        app = create_app(runtime=runtime)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        opened.append(Shop(runtime, client, stripe_server))
        return opened[-1]

    yield build
    for built in opened:
        await built.client.aclose()
        await close_gateway(built.runtime)
        await built.runtime.close()


@pytest.fixture
async def shop(shop_factory: Callable[..., Awaitable[Shop]], sqlite_url: str) -> Shop:
    return await shop_factory(sqlite_url)
