"""Subscribing: plans, Checkout and Elements, one customer per user, the allowance granted exactly once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from conjure.payments.models import ProcessedEvent
from tests.billing.conftest import Billing

BillingFactory = Callable[..., Awaitable[Billing]]


async def test_plans_are_configuration_free_tier_first(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/billing/plans")
    assert response.status_code == 200
    plans = {p["id"]: p for p in response.json()}
    assert list(plans) == ["free", "plus", "pro"]
    assert plans["free"]["free"] is True
    assert plans["free"]["monthly_allowance"] == 0
    assert (plans["plus"]["price"], plans["plus"]["monthly_allowance"]) == (19_900, 30)
    assert plans["pro"]["limits"]["queue_lane"] == "priority"


async def test_checkout_grants_the_allowance_once_with_every_event_three_times_out_of_order(
    billing_factory: BillingFactory, backend: dict[str, str]
) -> None:
    billing = await billing_factory(**backend)
    user, headers = await billing.user()
    started = await billing.subscribe(headers, "plus")
    assert started["flow"] == "checkout"
    assert started["url"].startswith("https://checkout.stripe.test/")
    events = billing.fake.complete_checkout(started["checkout_session_id"])
    sub_id = billing.fake.sessions[started["checkout_session_id"]]["subscription"]

    responses = await billing.deliver(events, times=3, shuffle=True)
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses == ["duplicate"] * 6 + ["queued"] * 3
    await billing.settle()

    grants = await billing.grants(user.id)
    assert [(g.amount, g.remaining) for g in grants] == [(30, 30)]
    assert grants[0].expires_at == billing.fake.period_end(sub_id)
    assert len(await billing.ledger(user.id, "allowance")) == 1
    assert await billing.balance(user.id) == 30
    async with billing.shop.runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 3

    status = (await billing.client.get("/api/v1/billing/subscription", headers=headers)).json()
    assert (status["plan"], status["status"], status["cancel_at_period_end"]) == ("plus", "active", False)
    assert status["allowance"]["remaining"] == 30
    assert status["limits"]["queue_lane"] == "fast"
    invoices = (await billing.client.get("/api/v1/billing/invoices", headers=headers)).json()
    assert invoices["total"] == 1
    invoice: dict[str, Any] = invoices["items"][0]
    assert (invoice["status"], invoice["amount_paid"], invoice["currency"], invoice["stars_granted"]) == (
        "paid",
        19_900,
        "thb",
        30,
    )
    assert invoice["hosted_invoice_url"].startswith("https://invoice.stripe.test/")
    assert invoice["invoice_pdf"].endswith("/pdf")


async def test_one_stripe_customer_per_user_reused(billing_factory: BillingFactory, sqlite_url: str) -> None:
    billing = await billing_factory(database_url=sqlite_url)
    _, headers = await billing.user()
    first = await billing.subscribe(headers, "plus")
    again = await billing.subscribe(headers, "pro")  # left the first Checkout page unpaid
    assert first["checkout_session_id"] != again["checkout_session_id"]
    assert len(billing.fake.customers) == 1
    customer = next(iter(billing.fake.customers))
    assert {s["customer"] for s in billing.fake.sessions.values()} == {customer}
    portal = await billing.client.post("/api/v1/billing/portal", headers=headers)
    assert portal.status_code == 200
    assert portal.json()["url"].startswith("https://billing.stripe.test/")
    assert billing.fake.portal_sessions[0]["customer"] == customer


async def test_elements_flow_returns_the_client_secret_and_grants_when_paid(
    billing_factory: BillingFactory, sqlite_url: str
) -> None:
    billing = await billing_factory(database_url=sqlite_url)
    user, headers = await billing.user()
    started = await billing.subscribe(headers, "pro", flow="elements")
    assert started["flow"] == "elements"
    assert started["client_secret"].startswith("pi_")
    assert "_secret_" in started["client_secret"]
    sub = await billing.subscription(started["subscription_id"])
    assert (sub.status, sub.plan_id) == ("incomplete", "pro")
    status = (await billing.client.get("/api/v1/billing/subscription", headers=headers)).json()
    assert status["plan"] == "free"  # nothing paid yet

    await billing.run(billing.fake.pay_first_invoice(started["subscription_id"]), times=2, shuffle=True)
    assert [g.amount for g in await billing.grants(user.id)] == [100]
    status = (await billing.client.get("/api/v1/billing/subscription", headers=headers)).json()
    assert (status["plan"], status["status"]) == ("pro", "active")


async def test_subscribe_problems(billing_factory: BillingFactory, sqlite_url: str) -> None:
    billing = await billing_factory(database_url=sqlite_url)
    _, headers = await billing.user()
    unknown = await billing.client.post("/api/v1/billing/subscribe", json={"plan": "gold"}, headers=headers)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_plan")
    free = await billing.client.post("/api/v1/billing/subscribe", json={"plan": "free"}, headers=headers)
    assert (free.status_code, free.json()["code"]) == (422, "unknown_plan")
    _sub_id, events = await billing.checkout(headers, "plus")
    await billing.run(events)
    same = await billing.client.post("/api/v1/billing/subscribe", json={"plan": "plus"}, headers=headers)
    assert (same.status_code, same.json()["code"]) == (409, "already_subscribed")
    none = await billing.user()
    nothing = await billing.client.post("/api/v1/billing/cancel", headers=none[1])
    assert (nothing.status_code, nothing.json()["code"]) == (404, "no_subscription")
    no_portal = await billing.client.post("/api/v1/billing/portal", headers=none[1])
    assert (no_portal.status_code, no_portal.json()["code"]) == (404, "no_billing_account")
    anonymous = await billing.client.get("/api/v1/billing/subscription")
    assert anonymous.status_code == 401


async def test_the_webhook_only_records_and_queues_the_job_applies(
    billing_factory: BillingFactory, sqlite_url: str
) -> None:
    billing = await billing_factory(database_url=sqlite_url, worker=False)
    user, headers = await billing.user()
    _, events = await billing.checkout(headers, "plus")
    calls = len(billing.shop.stripe.requests)
    responses = await billing.deliver(events)
    assert [r.json()["status"] for r in responses] == ["queued"] * 3
    assert len(billing.shop.stripe.requests) == calls  # no call out while Stripe waits for its 200
    assert await billing.balance(user.id) == 0  # nothing applied yet: the jobs are queued
    await billing.start_worker()
    await billing.settle()
    assert await billing.balance(user.id) == 30
