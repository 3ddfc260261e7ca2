"""Billing fixtures: a runtime on the local Stripe with a worker running, and the steps a subscriber takes."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from conjure.billing.models import Invoice, Subscription
from conjure.billing.tasks import KIND
from conjure.jobs.models import TERMINAL_STATUSES, Job
from conjure.jobs.worker import start_embedded
from conjure.users.models import User
from conjure.wallet.models import CreditGrant, WalletTransaction
from conjure.wallet.service import check_consistency
from tests.payments.conftest import Shop, shop_factory, stripe_server  # noqa: F401  (fixtures)
from tests.payments.stripe_billing import Event, FakeBilling

Stop = Callable[[], Awaitable[None]]


@dataclass
class Billing:
    """A Shop with a worker applying the billing jobs, and helpers to drive and inspect billing."""

    shop: Shop
    stops: list[Stop] = field(default_factory=list)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.shop.client

    @property
    def fake(self) -> FakeBilling:
        return self.shop.stripe.billing

    async def start_worker(self) -> None:
        self.stops.append(await start_embedded(self.shop.runtime))

    async def subscribe(self, headers: dict[str, str], plan: str = "plus", **body: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/billing/subscribe", json={"plan": plan, **body}, headers=headers
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def checkout(self, headers: dict[str, str], plan: str = "plus") -> tuple[str, list[Event]]:
        """Subscribe through Checkout and pay there; the subscription id and Stripe's events."""
        started = await self.subscribe(headers, plan)
        events = self.fake.complete_checkout(started["checkout_session_id"])
        return self.fake.sessions[started["checkout_session_id"]]["subscription"], events

    async def deliver(
        self, events: Iterable[Event], *, times: int = 1, shuffle: bool = False
    ) -> list[httpx.Response]:
        """Deliver each event ``times`` times (same event id), all at once, in a random order if asked."""
        payloads = []
        for event_type, obj in events:
            event_id = f"evt_{uuid.uuid4().hex[:20]}"
            payloads.extend([(event_type, obj, event_id)] * times)
        if shuffle:
            random.shuffle(payloads)
        responses = await asyncio.gather(*(self.shop.deliver(t, o, event_id=i) for t, o, i in payloads))
        for response in responses:
            assert response.status_code == 200, response.text
        return list(responses)

    async def ended(self, timeout: float = 30.0) -> list[Job]:
        """Wait until every billing job has ended (however it ended)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self.shop.runtime.db.session() as session:
                jobs = list((await session.execute(select(Job).where(Job.kind == KIND))).scalars())
            if all(job.status in TERMINAL_STATUSES for job in jobs):
                return jobs
            assert loop.time() < deadline, [(j.status, j.last_error) for j in jobs]
            await asyncio.sleep(0.05)

    async def settle(self, timeout: float = 30.0) -> list[Job]:
        """Wait until every billing job has ended; each must have succeeded."""
        jobs = await self.ended(timeout)
        assert [j.status for j in jobs if j.status != "succeeded"] == [], [j.last_error for j in jobs]
        return jobs

    async def run(self, events: Iterable[Event], **how: Any) -> None:
        await self.deliver(events, **how)
        await self.settle()

    async def grants(self, user_id: uuid.UUID) -> list[CreditGrant]:
        async with self.shop.runtime.db.session() as session:
            stmt = select(CreditGrant).where(CreditGrant.user_id == user_id).order_by(CreditGrant.expires_at)
            return list((await session.execute(stmt)).scalars())

    async def ledger(self, user_id: uuid.UUID, *types: str) -> list[WalletTransaction]:
        async with self.shop.runtime.db.session() as session:
            stmt = select(WalletTransaction).where(WalletTransaction.user_id == user_id)
            if types:
                stmt = stmt.where(WalletTransaction.transaction_type.in_(types))
            return list((await session.execute(stmt.order_by(WalletTransaction.seq))).scalars())

    async def subscription(self, stripe_id: str) -> Subscription:
        async with self.shop.runtime.db.session() as session:
            stmt = select(Subscription).where(Subscription.stripe_subscription_id == stripe_id)
            return (await session.execute(stmt)).scalar_one()

    async def invoices(self, user_id: uuid.UUID) -> list[Invoice]:
        async with self.shop.runtime.db.session() as session:
            stmt = select(Invoice).where(Invoice.user_id == user_id).order_by(Invoice.created_at)
            return list((await session.execute(stmt)).scalars())

    async def balance(self, user_id: uuid.UUID) -> int:
        return await self.shop.balance(user_id)

    async def user(self, stars: int = 0) -> tuple[User, dict[str, str]]:
        from tests.factories import auth_headers, make_user

        user = await make_user(self.shop.runtime, stars=stars)
        return user, auth_headers(self.shop.runtime, user)

    async def check(self) -> None:
        async with self.shop.runtime.db.session() as session:
            problems = await check_consistency(session)
        assert problems == [], [str(p) for p in problems]


@pytest.fixture
async def billing_factory(
    shop_factory: Callable[..., Awaitable[Shop]],  # noqa: F811  (the payments fixture, imported above)
) -> AsyncIterator[Callable[..., Awaitable[Billing]]]:
    """Billing set-ups on the given backend (``database_url``, ``redis_url``), worker running;
    the wallet is checked when each test ends."""
    built: list[Billing] = []

    async def build(*, worker: bool = True, **backend: Any) -> Billing:
        database_url = backend.pop("database_url")
        billing = Billing(await shop_factory(database_url, **backend))
        if worker:
            await billing.start_worker()
        built.append(billing)
        return billing

    yield build
    for billing in built:
        for stop in billing.stops:
            await stop()
        await billing.check()
