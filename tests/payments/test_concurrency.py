"""Races on PostgreSQL: many deliveries of one success plus the confirm call credit exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select

from conjure.payments.models import ProcessedEvent
from conjure.wallet.models import WalletTransaction
from tests.payments.conftest import NEW_SECRET, Shop
from tests.payments.stripe_server import make_event, sign


async def test_twenty_deliveries_and_a_confirm_credit_once(
    shop_factory: Callable[..., Awaitable[Shop]], pg_url: str
) -> None:
    shop = await shop_factory(pg_url)
    user, headers = await shop.user()
    bystander, bystander_headers = await shop.user()
    body = await shop.buy(headers, "premium")
    other = await shop.buy(bystander_headers, "starter")
    intent = shop.stripe.set_status(body["payment_intent_id"], "succeeded")
    other_intent = shop.stripe.set_status(other["payment_intent_id"], "succeeded")

    payload = make_event("payment_intent.succeeded", intent, "evt_same_success")
    signature = sign(payload, NEW_SECRET)
    # Stripe may also send distinct events that both report the success (e.g. after a resend).
    distinct = [make_event("payment_intent.succeeded", intent) for _ in range(4)]
    confirm = shop.client.post(
        "/api/v1/payment/confirm", json={"payment_intent_id": body["payment_intent_id"]}, headers=headers
    )
    responses = await asyncio.gather(
        *(shop.post_event(payload, signature) for _ in range(20)),
        *(shop.post_event(p, sign(p, NEW_SECRET)) for p in distinct),
        shop.deliver("payment_intent.succeeded", other_intent),
        confirm,
    )

    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    outcomes = Counter(r.json()["status"] for r in responses[:20])
    assert outcomes == {"processed": 1, "duplicate": 19}
    assert responses[-1].json()["credited"] is True

    assert await shop.balance(user.id) == 180
    assert await shop.balance(bystander.id) == 10
    async with shop.runtime.db.session() as session:
        purchases = await session.scalar(
            select(func.count())
            .select_from(WalletTransaction)
            .where(WalletTransaction.user_id == user.id, WalletTransaction.transaction_type == "purchase")
        )
        events = await session.scalar(select(func.count()).select_from(ProcessedEvent))
    assert purchases == 1
    assert events == 1 + 4 + 1
    await shop.assert_ledger_consistent()


async def test_concurrent_refund_deliveries_claw_back_once(
    shop_factory: Callable[..., Awaitable[Shop]], pg_url: str
) -> None:
    shop = await shop_factory(pg_url)
    user, headers = await shop.user()
    body = await shop.buy(headers, "popular")
    intent_id = body["payment_intent_id"]
    await shop.deliver("payment_intent.succeeded", shop.stripe.set_status(intent_id, "succeeded"))
    refund = {
        "id": "ch_1",
        "object": "charge",
        "amount": 24_900,
        "amount_refunded": 24_900,
        "payment_intent": intent_id,
    }

    responses = await asyncio.gather(*(shop.deliver("charge.refunded", refund) for _ in range(10)))
    assert all(r.status_code == 200 for r in responses)
    assert await shop.balance(user.id) == 0
    payment = await shop.payment(intent_id)
    assert (payment.status, payment.stars_clawed_back) == ("refunded", 33)
    await shop.assert_ledger_consistent()
