"""Stripe webhooks: signatures as Stripe makes them, duplicates, any order, refunds and clawbacks."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from conjure.payments.models import ProcessedEvent
from conjure.wallet.models import WalletTransaction
from conjure.wallet.service import capture_hold, hold_stars
from tests.payments.conftest import NEW_SECRET, OLD_SECRET, Shop
from tests.payments.stripe_server import make_event, sign

ShopFactory = Callable[..., Awaitable[Shop]]


def charge(intent_id: str | None, amount_refunded: int, amount: int = 24_900) -> dict[str, Any]:
    return {
        "id": f"ch_{uuid.uuid4().hex[:16]}",
        "object": "charge",
        "amount": amount,
        "amount_refunded": amount_refunded,
        "refunded": amount_refunded >= amount,
        "currency": "thb",
        "payment_intent": intent_id,
    }


async def purchase_rows(shop: Shop, user_id: uuid.UUID) -> list[WalletTransaction]:
    async with shop.runtime.db.session() as session:
        stmt = select(WalletTransaction).where(WalletTransaction.user_id == user_id)
        return list((await session.execute(stmt.order_by(WalletTransaction.seq))).scalars())


async def test_signed_event_credits_and_a_replay_changes_nothing(
    shop_factory: ShopFactory, backend: dict[str, str]
) -> None:
    shop = await shop_factory(**backend)
    user, headers = await shop.user()
    body = await shop.buy(headers, "popular")
    intent = shop.stripe.set_status(body["payment_intent_id"], "succeeded")

    payload = make_event("payment_intent.succeeded", intent)
    signature = sign(payload, NEW_SECRET)
    first = await shop.post_event(payload, signature)
    assert first.status_code == 200
    assert first.json() == {"received": True, "status": "processed"}
    again = await shop.post_event(payload, signature)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"

    assert await shop.balance(user.id) == 33
    payment = await shop.payment(body["payment_intent_id"])
    assert payment.status == "succeeded"
    assert payment.credited_at is not None
    assert [r.transaction_type for r in await purchase_rows(shop, user.id)] == ["purchase"]
    await shop.assert_ledger_consistent()


async def test_signatures_are_checked_like_stripe_does(shop: Shop) -> None:
    user, headers = await shop.user()
    body = await shop.buy(headers)
    intent = shop.stripe.set_status(body["payment_intent_id"], "succeeded")
    payload = make_event("payment_intent.succeeded", intent)

    wrong_secret = await shop.post_event(payload, sign(payload, "whsec_somebody_else"))
    tampered = await shop.post_event(payload.replace(b"24900", b"99900"), sign(payload, NEW_SECRET))
    stale = await shop.post_event(payload, sign(payload, NEW_SECRET, int(time.time()) - 301))
    missing = await shop.client.post("/webhooks/stripe", content=payload)
    garbage = await shop.post_event(payload, "not-a-signature")
    for response in (wrong_secret, tampered, stale, missing, garbage):
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_signature"
    assert await shop.balance(user.id) == 0

    not_json = b"this is not an event"
    signed_garbage = await shop.post_event(not_json, sign(not_json, NEW_SECRET))
    assert signed_garbage.status_code == 400
    assert signed_garbage.json()["code"] == "bad_request"

    # The previous secret still verifies while it is being rotated out.
    rotated = await shop.post_event(payload, sign(payload, OLD_SECRET))
    assert rotated.status_code == 200
    assert rotated.json()["status"] == "processed"
    assert await shop.balance(user.id) == 33


async def processed_count(shop: Shop) -> int:
    async with shop.runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessedEvent)) or 0)


async def test_within_tolerance_is_accepted_both_ways(shop: Shop) -> None:
    for skew in (-290, 299):  # the past side loses a little to the time the request takes
        payload = make_event("customer.created", {"id": "cus_1", "object": "customer"})
        response = await shop.post_event(payload, sign(payload, NEW_SECRET, int(time.time()) + skew))
        assert response.status_code == 200, (skew, response.text)
        assert response.json()["status"] == "ignored"
    assert await processed_count(shop) == 2


async def test_signature_dated_in_the_future_is_refused(shop: Shop) -> None:
    user, headers = await shop.user()
    body = await shop.buy(headers)
    intent = shop.stripe.set_status(body["payment_intent_id"], "succeeded")
    payload = make_event("payment_intent.succeeded", intent)

    # 310, not 301: a loaded machine can spend a second or more between signing and checking.
    for skew in (310, 3600, 10**9):
        ahead = await shop.post_event(payload, sign(payload, NEW_SECRET, int(time.time()) + skew))
        assert ahead.status_code == 400, (skew, ahead.text)
        assert ahead.json()["code"] == "invalid_signature"
        assert ahead.json()["reason"] == "timestamp_in_future"
    behind = await shop.post_event(payload, sign(payload, NEW_SECRET, int(time.time()) - 301))
    assert behind.json()["reason"] == "timestamp_too_old"
    assert await shop.balance(user.id) == 0
    assert await processed_count(shop) == 0  # refused before anything was recorded

    # A signed old timestamp with an unsigned fresh one appended is refused, not "fresh".
    old = sign(payload, NEW_SECRET, int(time.time()) - 3600)
    smuggled = await shop.post_event(payload, f"{old},t={int(time.time())}")
    assert smuggled.status_code == 400
    assert smuggled.json()["code"] == "invalid_signature"

    fresh = await shop.post_event(payload, sign(payload, NEW_SECRET))
    assert fresh.json()["status"] == "processed"
    assert await shop.balance(user.id) == 33


async def test_tolerance_is_the_setting(shop_factory: ShopFactory, sqlite_url: str) -> None:
    shop = await shop_factory(sqlite_url, stripe_webhook_tolerance_seconds=60)
    payload = make_event("customer.created", {"id": "cus_2", "object": "customer"})
    # 15 s margins either side of the 60 s window: a loaded machine must not move a case across it,
    # and the default tolerance (300 s) would accept all three.
    for skew in (75, -75):
        response = await shop.post_event(payload, sign(payload, NEW_SECRET, int(time.time()) + skew))
        assert response.status_code == 400, skew
    response = await shop.post_event(payload, sign(payload, NEW_SECRET, int(time.time()) + 45))
    assert response.status_code == 200


async def test_succeeded_before_our_pending_row_is_visible(
    shop_factory: ShopFactory, backend: dict[str, str]
) -> None:
    """Stripe's webhook lands while create-intent is still waiting for Stripe's answer."""
    shop = await shop_factory(**backend)
    user, headers = await shop.user()
    loop = asyncio.get_running_loop()
    early: list[Any] = []

    def fire_webhook_first(intent: dict[str, Any]) -> None:
        succeeded = {**intent, "status": "succeeded"}
        future = asyncio.run_coroutine_threadsafe(shop.deliver("payment_intent.succeeded", succeeded), loop)
        early.append(future.result(timeout=30))

    shop.stripe.on_create = fire_webhook_first
    body = await shop.buy(headers, "value")
    shop.stripe.on_create = None

    assert early[0].status_code == 200, early[0].text
    assert early[0].json()["status"] == "processed"
    assert await shop.balance(user.id) == 80
    payment = await shop.payment(body["payment_intent_id"])
    assert str(payment.id) == body["payment_id"]
    assert payment.status == "succeeded"

    # Later news of the same success credits nothing more.
    shop.stripe.set_status(body["payment_intent_id"], "succeeded")
    confirm = await shop.client.post(
        "/api/v1/payment/confirm", json={"payment_intent_id": body["payment_intent_id"]}, headers=headers
    )
    assert confirm.json()["credited"] is True
    await shop.deliver("payment_intent.succeeded", shop.stripe.intent(body["payment_intent_id"]))
    assert await shop.balance(user.id) == 80
    await shop.assert_ledger_consistent()


async def test_success_we_cannot_place_is_503_and_not_marked_processed(shop: Shop) -> None:
    user, headers = await shop.user()
    body = await shop.buy(headers, "popular")
    stranger = {**shop.stripe.intent(body["payment_intent_id"]), "status": "succeeded"}
    stranger["id"] = "pi_unknown_to_us"
    stranger["metadata"] = {}
    wrong_amount = {**stranger, "id": "pi_wrong_amount", "amount": 100}
    wrong_amount["metadata"] = {
        "payment_id": str(uuid.uuid4()),
        "user_id": str(user.id),
        "package_id": "popular",
    }

    for obj in (stranger, wrong_amount):
        payload = make_event("payment_intent.succeeded", obj, "evt_retry_me")
        for _ in range(2):  # not recorded as processed, so Stripe's retry is handled again
            response = await shop.post_event(payload, sign(payload, NEW_SECRET))
            assert response.status_code == 503
            assert response.json()["code"] == "payment_not_recorded"
    assert await shop.balance(user.id) == 0
    async with shop.runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0


async def test_failed_then_succeeded_then_late_failure(shop: Shop) -> None:
    user, headers = await shop.user()
    body = await shop.buy(headers, "starter")
    intent_id = body["payment_intent_id"]
    declined = shop.stripe.set_status(intent_id, "requires_payment_method", error="Your card was declined.")
    await shop.deliver("payment_intent.payment_failed", declined)
    failed = await shop.payment(intent_id)
    assert (failed.status, failed.last_error) == ("failed", "Your card was declined.")

    await shop.deliver("payment_intent.succeeded", shop.stripe.set_status(intent_id, "succeeded"))
    await shop.deliver("payment_intent.payment_failed", declined)  # an old event, delivered late
    payment = await shop.payment(intent_id)
    assert payment.status == "succeeded"
    assert await shop.balance(user.id) == 10

    other = await shop.buy(headers, "starter")
    await shop.deliver(
        "payment_intent.canceled", shop.stripe.set_status(other["payment_intent_id"], "canceled")
    )
    assert (await shop.payment(other["payment_intent_id"])).status == "canceled"
    assert await shop.balance(user.id) == 10


async def test_refund_claws_back_and_flags_spent_stars(
    shop_factory: ShopFactory, backend: dict[str, str]
) -> None:
    shop = await shop_factory(**backend)
    user, headers = await shop.user()
    body = await shop.buy(headers, "popular")  # 30 + 3 bonus stars for 249 THB
    intent_id = body["payment_intent_id"]
    await shop.deliver("payment_intent.succeeded", shop.stripe.set_status(intent_id, "succeeded"))
    assert await shop.balance(user.id) == 33

    job_id = uuid.uuid4()
    async with shop.runtime.db.session() as session:  # the user spends 30 stars on readings
        await hold_stars(session, user.id, 30, job_id=job_id)
        await capture_hold(session, job_id=job_id)
    assert await shop.balance(user.id) == 3

    half = await shop.deliver("charge.refunded", charge(intent_id, 12_450), event_id="evt_refund_half")
    assert half.json()["status"] == "processed"
    payment = await shop.payment(intent_id)
    assert (payment.status, payment.stars_clawed_back, payment.flagged) == ("partially_refunded", 16, True)
    assert await shop.balance(user.id) == 3 - 16

    full = charge(intent_id, 24_900)
    await shop.deliver("charge.refunded", full, event_id="evt_refund_full")
    await shop.deliver("charge.refunded", full, event_id="evt_refund_full")  # replay
    await shop.deliver("charge.refunded", full)  # a second event reporting the same total
    payment = await shop.payment(intent_id)
    assert (payment.status, payment.amount_refunded, payment.stars_clawed_back) == ("refunded", 24_900, 33)
    assert await shop.balance(user.id) == 3 - 33

    clawbacks = [r for r in await purchase_rows(shop, user.id) if r.transaction_type == "clawback"]
    assert [r.amount for r in clawbacks] == [-16, -17]
    assert all(r.flagged for r in clawbacks)
    await shop.assert_ledger_consistent()


async def test_refund_before_success_nets_to_zero(shop: Shop) -> None:
    user, headers = await shop.user()
    body = await shop.buy(headers, "popular")
    intent_id = body["payment_intent_id"]
    await shop.deliver("charge.refunded", charge(intent_id, 24_900))
    assert (await shop.payment(intent_id)).status == "refunded"
    assert await shop.balance(user.id) == 0

    await shop.deliver("payment_intent.succeeded", shop.stripe.set_status(intent_id, "succeeded"))
    payment = await shop.payment(intent_id)
    assert (payment.status, payment.stars_clawed_back, payment.flagged) == ("refunded", 33, False)
    assert await shop.balance(user.id) == 0
    assert [r.amount for r in await purchase_rows(shop, user.id)] == [33, -33]
    await shop.assert_ledger_consistent()


async def test_refunds_we_cannot_place(shop: Shop) -> None:
    unknown = await shop.deliver("charge.refunded", charge("pi_not_ours", 24_900))
    assert unknown.status_code == 503
    assert unknown.json()["code"] == "payment_not_recorded"
    no_intent = await shop.deliver("charge.refunded", charge(None, 1_000))
    assert no_intent.status_code == 200
    assert no_intent.json()["status"] == "ignored"
