"""The payments API end to end: the real Stripe SDK against a local Stripe, on the embedded database."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy import func, select, update

from conjure.db import utcnow
from conjure.payments.models import Payment
from conjure.payments.service import STRIPE_KEY_LIFETIME
from conjure.runtime import Runtime
from conjure.wallet.models import WalletTransaction
from tests.factories import auth_headers, make_user
from tests.payments.conftest import Shop
from tests.payments.stripe_server import API_KEY

ShopFactory = Callable[..., Awaitable[Shop]]


async def test_without_stripe_packages_list_and_purchases_answer_503(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    headers = auth_headers(runtime, user)

    packages = await client.get("/api/v1/payment/packages")
    assert packages.status_code == 200
    by_id = {p["id"]: p for p in packages.json()}
    assert by_id["popular"] == {
        "id": "popular",
        "name": "Popular",
        "price": 24_900,
        "currency": "thb",
        "stars": 30,
        "bonus_stars": 3,
        "total_stars": 33,
    }

    for path, body in (
        ("/api/v1/payment/create-intent", {"package": "popular"}),
        ("/api/v1/payment/confirm", {"payment_intent_id": "pi_123"}),
    ):
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "payments_not_configured"
        assert "STRIPE_API_KEY" in response.json()["detail"]

    webhook = await client.post("/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    assert webhook.status_code == 503
    assert "STRIPE_WEBHOOK_SECRET" in webhook.json()["detail"]

    history = await client.get("/api/v1/payment/history", headers=headers)
    assert history.status_code == 200
    assert history.json()["items"] == []


async def test_create_intent_sends_stripe_wire_format_and_stores_pending(shop: Shop) -> None:
    user, headers = await shop.user()
    body = await shop.buy(headers, "popular")

    assert body["amount"] == 24_900
    assert body["currency"] == "thb"
    assert body["client_secret"].startswith(body["payment_intent_id"] + "_secret_")
    assert (body["stars"], body["bonus_stars"]) == (30, 3)

    [request] = shop.stripe.creates()
    assert request["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert request["headers"]["Idempotency-Key"] == f"conjure-payment-{body['payment_id']}"
    assert request["headers"]["Stripe-Version"]
    assert request["form"] == {
        "amount": "24900",
        "currency": "thb",
        "allowed_payment_method_types": ["card"],
        "metadata": {"payment_id": body["payment_id"], "user_id": str(user.id), "package_id": "popular"},
    }
    payment = await shop.payment(body["payment_intent_id"])
    assert payment.status == "pending"
    assert payment.user_id == user.id
    assert (payment.amount, payment.currency, payment.package_type) == (24_900, "thb", "popular")
    assert (payment.stars_purchased, payment.stars_bonus, payment.credited_at) == (30, 3, None)
    assert await shop.balance(user.id) == 0


async def test_promptpay_is_offered_when_enabled(shop_factory: ShopFactory, sqlite_url: str) -> None:
    shop = await shop_factory(sqlite_url, stripe_promptpay_enabled=True)
    _, headers = await shop.user()
    await shop.buy(headers, "starter")
    assert shop.stripe.creates()[0]["form"]["allowed_payment_method_types"] == ["card", "promptpay"]


async def test_unknown_package_is_422_and_calls_no_one(shop: Shop) -> None:
    _, headers = await shop.user()
    response = await shop.client.post(
        "/api/v1/payment/create-intent", json={"package": "gold"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_package"
    assert "popular" in response.json()["detail"]
    assert shop.stripe.creates() == []


async def test_client_idempotency_key_gives_one_intent_and_one_payment(shop: Shop) -> None:
    user, headers = await shop.user()
    keyed = {**headers, "Idempotency-Key": "buy-once-123"}
    first = await shop.client.post("/api/v1/payment/create-intent", json={"package": "value"}, headers=keyed)
    second = await shop.client.post("/api/v1/payment/create-intent", json={"package": "value"}, headers=keyed)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len(shop.stripe.creates()) == 2  # both reached Stripe, which replayed the first
    assert len(shop.stripe.intents) == 1
    async with shop.runtime.db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(Payment).where(Payment.user_id == user.id)
        )
    assert count == 1


async def test_confirm_credits_once_from_the_stored_row(shop: Shop) -> None:
    user, headers = await shop.user()
    body = await shop.buy(headers, "popular")
    intent_id = body["payment_intent_id"]

    pending = await shop.client.post(
        "/api/v1/payment/confirm", json={"payment_intent_id": intent_id}, headers=headers
    )
    assert pending.status_code == 200
    assert pending.json()["status"] == "pending"
    assert pending.json()["credited"] is False

    shop.stripe.set_status(intent_id, "succeeded")
    for _ in range(3):
        done = await shop.client.post(
            "/api/v1/payment/confirm", json={"payment_intent_id": intent_id}, headers=headers
        )
        assert done.status_code == 200
        assert done.json()["status"] == "succeeded"
        assert done.json()["credited"] is True
    assert await shop.balance(user.id) == 33

    async with shop.runtime.db.session() as session:
        rows = (
            (await session.execute(select(WalletTransaction).where(WalletTransaction.user_id == user.id)))
            .scalars()
            .all()
        )
    purchases = [r for r in rows if r.transaction_type == "purchase"]
    assert len(purchases) == 1
    assert purchases[0].amount == 33
    assert str(purchases[0].related_payment_id) == body["payment_id"]
    assert purchases[0].idempotency_key == f"payment:{body['payment_id']}"
    await shop.assert_ledger_consistent()


async def test_confirm_reports_failure_and_cancel(shop: Shop) -> None:
    user, headers = await shop.user()
    failed = await shop.buy(headers)
    shop.stripe.set_status(
        failed["payment_intent_id"], "requires_payment_method", error="Your card was declined."
    )
    response = await shop.client.post(
        "/api/v1/payment/confirm", json={"payment_intent_id": failed["payment_intent_id"]}, headers=headers
    )
    assert response.json()["status"] == "failed"
    assert response.json()["error"] == "Your card was declined."

    canceled = await shop.buy(headers)
    shop.stripe.set_status(canceled["payment_intent_id"], "canceled")
    response = await shop.client.post(
        "/api/v1/payment/confirm", json={"payment_intent_id": canceled["payment_intent_id"]}, headers=headers
    )
    assert response.json()["status"] == "canceled"
    assert await shop.balance(user.id) == 0


async def test_another_users_payment_is_404(shop: Shop) -> None:
    owner, owner_headers = await shop.user()
    _, other_headers = await shop.user()
    body = await shop.buy(owner_headers)
    shop.stripe.set_status(body["payment_intent_id"], "succeeded")

    stolen = await shop.client.post(
        "/api/v1/payment/confirm",
        json={"payment_intent_id": body["payment_intent_id"]},
        headers=other_headers,
    )
    assert stolen.status_code == 404
    assert stolen.json()["code"] == "not_found"
    unknown = await shop.client.post(
        "/api/v1/payment/confirm", json={"payment_intent_id": "pi_nope"}, headers=owner_headers
    )
    assert unknown.status_code == 404
    assert await shop.balance(owner.id) == 0

    mine = await shop.client.get("/api/v1/payment/history", headers=owner_headers)
    theirs = await shop.client.get("/api/v1/payment/history", headers=other_headers)
    assert [p["payment_intent_id"] for p in mine.json()["items"]] == [body["payment_intent_id"]]
    assert theirs.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}


async def test_history_is_newest_first_and_paginated(shop: Shop) -> None:
    _, headers = await shop.user()
    bought = [await shop.buy(headers, package) for package in ("starter", "popular", "value")]
    page = await shop.client.get("/api/v1/payment/history?limit=2", headers=headers)
    assert page.status_code == 200
    assert page.json()["total"] == 3
    assert [p["package"] for p in page.json()["items"]] == ["value", "popular"]
    rest = await shop.client.get("/api/v1/payment/history?limit=2&offset=2", headers=headers)
    assert [p["payment_intent_id"] for p in rest.json()["items"]] == [bought[0]["payment_intent_id"]]
    assert (await shop.client.get("/api/v1/payment/history")).status_code == 401


async def test_stripe_errors_become_502_and_store_nothing(shop_factory: ShopFactory, sqlite_url: str) -> None:
    shop = await shop_factory(sqlite_url, stripe_api_key="sk_test_wrong")
    user, headers = await shop.user()
    response = await shop.client.post(
        "/api/v1/payment/create-intent", json={"package": "popular"}, headers=headers
    )
    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    assert "sk_test_wrong" not in response.text
    async with shop.runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Payment)) == 0
    assert uuid.UUID(str(user.id))


async def test_starting_purchases_is_rate_limited(shop_factory: ShopFactory, sqlite_url: str) -> None:
    shop = await shop_factory(sqlite_url, rate_limit_payment="2/minute")
    _, headers = await shop.user()
    body = {"package": "starter"}
    codes = [
        await shop.client.post("/api/v1/payment/create-intent", json=body, headers=headers) for _ in range(3)
    ]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[2].json()["code"] == "rate_limited"
    assert len(shop.stripe.creates()) == 2


async def test_a_retry_with_its_idempotency_key_spends_no_purchase(
    shop_factory: ShopFactory, backend: dict[str, str]
) -> None:
    """A client retrying create-intent safely (the same key and package) gets its intent back, not
    a 429; new purchases, the same key with another package, and refused requests all count."""
    shop = await shop_factory(**backend, rate_limit_payment="3/minute")
    _, headers = await shop.user()
    keyed = {**headers, "Idempotency-Key": "buy-7"}
    url = "/api/v1/payment/create-intent"
    first = await shop.client.post(url, json={"package": "starter"}, headers=keyed)
    assert first.status_code == 200, first.text
    for _ in range(4):
        again = await shop.client.post(url, json={"package": "starter"}, headers=keyed)
        assert (again.status_code, again.json()["payment_id"]) == (200, first.json()["payment_id"])
    refused = await shop.client.post(url, json={"package": "gold"}, headers=keyed)
    assert refused.json()["code"] == "unknown_package"
    other = await shop.client.post(url, json={"package": "value"}, headers=keyed)
    assert other.status_code == 200, other.text
    assert other.json()["payment_id"] != first.json()["payment_id"]
    limited = await shop.client.post(url, json={"package": "starter"}, headers=headers)
    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
    assert len(shop.stripe.intents) == 2


async def test_a_retry_after_stripe_forgot_its_key_counts(shop_factory: ShopFactory, sqlite_url: str) -> None:
    """Past Stripe's key lifetime the same key would make a new intent: that retry is counted."""
    shop = await shop_factory(sqlite_url, rate_limit_payment="1/minute")
    _, headers = await shop.user()
    keyed = {**headers, "Idempotency-Key": "buy-old"}
    url = "/api/v1/payment/create-intent"
    first = await shop.client.post(url, json={"package": "starter"}, headers=keyed)
    assert first.status_code == 200, first.text
    async with shop.runtime.db.session() as session:
        await session.execute(
            update(Payment).values(created_at=utcnow() - STRIPE_KEY_LIFETIME - dt.timedelta(minutes=1))
        )
    again = await shop.client.post(url, json={"package": "starter"}, headers=keyed)
    assert (again.status_code, again.json()["code"]) == (429, "rate_limited")
