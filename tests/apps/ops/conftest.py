"""Ops fixtures: an API with the ops app, a platform admin, stations and members with roles."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conjure.apps.ops.inbox import receive_inbound
from conjure.apps.ops.models import InboxMessage
from conjure.channels.types import InboundMessage
from conjure.payments.stripe_client import close_gateway
from conjure.users.models import User
from tests.apps.conftest import Api, MakeApi
from tests.apps.ops.stripe_peer import StripeWithRefunds
from tests.payments.conftest import NEW_SECRET, stripe_overrides
from tests.payments.stripe_server import make_event, sign


@dataclass
class Ops:
    """One API with the ops app and helpers to set up stations the way an admin and owners would."""

    api: Api
    admin_headers: dict[str, str]
    stripe: StripeWithRefunds | None = None
    users: dict[str, User] = field(default_factory=dict)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.api.client

    async def user(self, email: str | None = None) -> tuple[User, dict[str, str]]:
        from tests.factories import auth_headers, make_user

        user = await make_user(self.api.runtime, email=email)
        return user, auth_headers(self.api.runtime, user)

    async def station(self, slug: str, **settings: Any) -> tuple[str, dict[str, str]]:
        """A station (made by the admin) and its owner's headers; ``settings`` patched by the owner."""
        owner, headers = await self.user(f"owner-{slug}@example.com")
        body = {"name": slug.replace("-", " ").title(), "slug": slug, "owner_email": owner.email}
        response = await self.client.post("/api/v1/ops/stations", json=body, headers=self.admin_headers)
        assert response.status_code == 201, response.text
        sid = str(response.json()["id"])
        if settings:
            patched = await self.client.patch(f"/api/v1/ops/stations/{sid}", json=settings, headers=headers)
            assert patched.status_code == 200, patched.text
        return sid, headers

    async def member(self, sid: str, owner: dict[str, str], role: str) -> tuple[User, dict[str, str]]:
        user, headers = await self.user(f"{role}-{uuid.uuid4().hex[:6]}@example.com")
        response = await self.client.post(
            f"/api/v1/ops/stations/{sid}/members", json={"email": user.email, "role": role}, headers=owner
        )
        assert response.status_code == 201, response.text
        return user, headers

    async def customer(self, sid: str, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        body = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+14155550100", **fields}
        response = await self.client.post(f"/api/v1/ops/stations/{sid}/customers", json=body, headers=headers)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def booking(
        self, sid: str, headers: dict[str, str], customer_id: str, **fields: Any
    ) -> httpx.Response:
        body = {
            "customer_id": customer_id,
            "event_date": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
            "event_time": "18:00",
            "guests": 12,
            "address": "1 Infinite Loop, Cupertino",
            "package": "deluxe",
            **fields,
        }
        return await self.client.post(f"/api/v1/ops/stations/{sid}/bookings", json=body, headers=headers)

    async def inbound(
        self, text: str, *, to: str, sender: str = "+14155550123", channel: str = "sms", **extra: Any
    ) -> InboxMessage | None:
        """An inbound message as the channels layer hands it over (verified, deduplicated)."""
        msg = InboundMessage(
            channel=channel,
            kind=extra.pop("kind", "message"),
            provider_message_id=extra.pop("provider_message_id", f"m-{uuid.uuid4().hex}"),
            from_address=sender,
            to_address=to,
            text=text,
            received_at=dt.datetime.now(dt.UTC),
            **extra,
        )
        async with self.api.runtime.db.session() as session:
            return await receive_inbound(session, self.api.runtime, msg)

    async def deliver_stripe(
        self, event_type: str, obj: dict[str, Any], event_id: str | None = None
    ) -> httpx.Response:
        payload = make_event(event_type, obj, event_id)
        return await self.client.post(
            "/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": sign(payload, NEW_SECRET), "Content-Type": "application/json"},
        )


@pytest.fixture
def stripe_peer() -> Iterator[StripeWithRefunds]:
    peer = StripeWithRefunds()
    peer.start()
    yield peer
    peer.stop()


@pytest.fixture
async def make_ops(make_api: MakeApi, stripe_peer: StripeWithRefunds) -> AsyncIterator[Any]:
    """``await make_ops(**settings)``: an Ops on the given backend with Stripe on loopback."""
    made: list[Ops] = []

    async def make(**overrides: Any) -> Ops:
        values = {**stripe_overrides(stripe_peer), "admin_emails": ["admin@example.com"], **overrides}
        api = await make_api(**values)
        from tests.factories import auth_headers, make_user

        admin = await make_user(api.runtime, email="admin@example.com", admin=True)
        made.append(Ops(api, auth_headers(api.runtime, admin), stripe_peer))
        return made[-1]

    yield make
    for ops in made:
        await close_gateway(ops.api.runtime)


@pytest.fixture
async def ops(make_ops: Any, sqlite_url: str) -> Ops:
    built: Ops = await make_ops(database_url=sqlite_url)
    return built
