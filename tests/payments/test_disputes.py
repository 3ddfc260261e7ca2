"""Chargebacks through Stripe's webhook deliveries: stars taken back, debt blocks spending, won/lost."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from conjure.cli import app
from conjure.payments.reconcile import reconcile_open_payments
from conjure.wallet.service import InsufficientStars, capture_hold, hold_stars
from tests.factories import auth_headers, make_user
from tests.payments.conftest import Shop
from tests.payments.test_webhooks import purchase_rows

ShopFactory = Callable[..., Awaitable[Shop]]


def dispute(
    intent_id: str | None, status: str = "needs_response", dispute_id: str = "dp_1"
) -> dict[str, Any]:
    """A Stripe Dispute object as the ``charge.dispute.*`` events carry it."""
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": 24_900,
        "currency": "thb",
        "charge": "ch_disputed",
        "payment_intent": intent_id,
        "reason": "fraudulent",
        "status": status,
        "is_charge_refundable": False,
    }


async def bought(shop: Shop, package: str = "popular") -> tuple[uuid.UUID, dict[str, str], str]:
    """A user who paid for ``package`` (credited through the success webhook)."""
    user, headers = await shop.user()
    intent_id = (await shop.buy(headers, package))["payment_intent_id"]
    await shop.deliver("payment_intent.succeeded", shop.stripe.set_status(intent_id, "succeeded"))
    return user.id, headers, intent_id


async def spend(shop: Shop, user_id: uuid.UUID, stars: int) -> None:
    job_id = uuid.uuid4()
    async with shop.runtime.db.session() as session:
        await hold_stars(session, user_id, stars, job_id=job_id)
        await capture_hold(session, job_id=job_id)


async def wallet_check(shop: Shop) -> Result:
    """The operator's ``conjure wallet check`` on this shop's database."""
    env = {"DATABASE_URL": shop.runtime.settings.resolved_database_url}
    return await asyncio.to_thread(CliRunner().invoke, app, ["wallet", "check"], env=env)


async def test_lost_dispute_takes_the_stars_back_and_the_debt_blocks_spending(
    shop_factory: ShopFactory, backend: dict[str, str]
) -> None:
    shop = await shop_factory(**backend)
    user_id, headers, intent_id = await bought(shop)  # 30 + 3 stars
    await spend(shop, user_id, 30)

    opened = await shop.deliver("charge.dispute.created", dispute(intent_id), event_id="evt_dp_open")
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "processed"
    replay = await shop.deliver("charge.dispute.created", dispute(intent_id), event_id="evt_dp_open")
    assert replay.json()["status"] == "duplicate"
    payment = await shop.payment(intent_id)
    assert (payment.status, payment.stars_clawed_back, payment.flagged) == ("disputed", 33, True)
    assert await shop.balance(user_id) == 3 - 33
    wallet = (await shop.client.get("/api/v1/user/wallet", headers=headers)).json()
    assert (wallet["available_stars"], wallet["star_debt"]) == (-30, 30)

    # The debt blocks spending: not one star can be held.
    with pytest.raises(InsufficientStars):
        await spend(shop, user_id, 1)

    lost = await shop.deliver("charge.dispute.closed", dispute(intent_id, "lost"))
    assert lost.json()["status"] == "processed"
    payment = await shop.payment(intent_id)
    assert (payment.status, payment.stars_clawed_back) == ("dispute_lost", 33)
    assert await shop.balance(user_id) == -30
    rows = await purchase_rows(shop, user_id)
    assert [(r.transaction_type, r.amount) for r in rows if r.amount] == [
        ("purchase", 33),
        ("capture", -30),
        ("clawback", -33),
    ]
    assert rows[-1].flagged

    # A new purchase pays the debt off first; then spending works again.
    await shop.deliver(
        "payment_intent.succeeded",
        shop.stripe.set_status((await shop.buy(headers, "value"))["payment_intent_id"], "succeeded"),
    )
    assert await shop.balance(user_id) == -30 + 80
    await spend(shop, user_id, 1)
    await shop.assert_ledger_consistent()
    check = await wallet_check(shop)
    assert check.exit_code == 0, check.output


async def test_won_dispute_gives_back_exactly_what_it_took(
    shop_factory: ShopFactory, backend: dict[str, str]
) -> None:
    shop = await shop_factory(**backend)
    user_id, _, intent_id = await bought(shop)
    await shop.deliver("charge.dispute.created", dispute(intent_id))
    assert await shop.balance(user_id) == 0
    assert not (await shop.payment(intent_id)).flagged  # nothing was spent: no debt

    await shop.deliver("charge.dispute.closed", dispute(intent_id, "won"))
    await shop.deliver("charge.dispute.closed", dispute(intent_id, "won"))  # a second event, same news
    await shop.deliver("charge.dispute.created", dispute(intent_id))  # a late, stale "created"
    payment = await shop.payment(intent_id)
    assert (payment.status, payment.stars_clawed_back) == ("dispute_won", 0)
    assert await shop.balance(user_id) == 33
    rows = await purchase_rows(shop, user_id)
    assert [(r.transaction_type, r.amount) for r in rows] == [
        ("purchase", 33),
        ("clawback", -33),
        ("dispute_won", 33),
    ]
    await shop.assert_ledger_consistent()


async def test_dispute_in_any_order_with_the_success_and_refunds(shop: Shop) -> None:
    # Disputed before our success webhook: recorded, then applied right after the credit.
    user, headers = await shop.user()
    early = (await shop.buy(headers, "popular"))["payment_intent_id"]
    await shop.deliver("charge.dispute.created", dispute(early))
    assert (await shop.payment(early)).status == "disputed"
    assert await shop.balance(user.id) == 0
    await shop.deliver("payment_intent.succeeded", shop.stripe.set_status(early, "succeeded"))
    payment = await shop.payment(early)
    assert payment.credited_at is not None
    assert (payment.status, payment.stars_clawed_back) == ("disputed", 33)
    assert await shop.balance(user.id) == 0
    await shop.deliver("charge.dispute.closed", dispute(early, "warning_closed"))  # an inquiry that closed
    assert await shop.balance(user.id) == 33

    # Closed before it was opened (deliveries out of order): the late "created" changes nothing.
    other_id, _, late = await bought(shop)
    await shop.deliver("charge.dispute.closed", dispute(late, "won", "dp_2"))
    await shop.deliver("charge.dispute.created", dispute(late, dispute_id="dp_2"))
    assert (await shop.payment(late)).status == "dispute_won"
    assert await shop.balance(other_id) == 33

    # Half refunded first (16 of 33 taken back), then disputed: only the other 17 go.
    third_id, _, refunded = await bought(shop)
    refund = {"id": "ch_r", "object": "charge", "amount": 24_900, "amount_refunded": 12_450}
    await shop.deliver("charge.refunded", {**refund, "payment_intent": refunded})
    assert await shop.balance(third_id) == 17
    await shop.deliver("charge.dispute.created", dispute(refunded, dispute_id="dp_3"))
    assert await shop.balance(third_id) == 0
    await shop.deliver("charge.dispute.closed", dispute(refunded, "won", "dp_3"))
    payment = await shop.payment(refunded)
    assert (payment.status, payment.stars_clawed_back, payment.amount_refunded) == ("dispute_won", 16, 12_450)
    assert await shop.balance(third_id) == 17
    await shop.assert_ledger_consistent()


async def test_disputes_we_cannot_place(shop: Shop) -> None:
    unknown = await shop.deliver("charge.dispute.created", dispute("pi_not_ours"))
    assert unknown.status_code == 503
    assert unknown.json()["code"] == "payment_not_recorded"
    outside = await shop.deliver("charge.dispute.created", dispute(None))
    assert outside.json()["status"] == "ignored"
    _, _, intent_id = await bought(shop)
    odd = await shop.deliver("charge.dispute.closed", dispute(intent_id, "under_review"))
    assert odd.json()["status"] == "ignored"
    assert (await shop.payment(intent_id)).status == "succeeded"


async def test_admin_sees_disputed_and_flagged_payments(shop: Shop) -> None:
    _, _, quiet = await bought(shop)
    user_id, _, disputed = await bought(shop)
    await shop.deliver("charge.dispute.created", dispute(disputed))
    admin = await make_user(shop.runtime, admin=True)

    listed = await shop.client.get("/api/v1/admin/payments", headers=auth_headers(shop.runtime, admin))
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["total"] == 1
    [item] = body["items"]
    assert (item["payment_intent_id"], item["status"]) == (disputed, "disputed")
    assert item["user_id"] == str(user_id)
    assert quiet not in {i["payment_intent_id"] for i in body["items"]}
    user_headers = auth_headers(shop.runtime, await make_user(shop.runtime))
    assert (await shop.client.get("/api/v1/admin/payments", headers=user_headers)).status_code == 403


async def test_reconciler_settles_a_disputed_payment_whose_success_was_never_delivered(shop: Shop) -> None:
    user, headers = await shop.user()
    intent_id = (await shop.buy(headers, "popular"))["payment_intent_id"]
    await shop.deliver("charge.dispute.created", dispute(intent_id))
    shop.stripe.set_status(intent_id, "succeeded")  # …and the success webhook is lost

    outcome = await reconcile_open_payments(shop.runtime, older_than=dt.timedelta(0))
    assert outcome == {"disputed": 1}
    payment = await shop.payment(intent_id)
    assert (payment.credited_at is not None, payment.stars_clawed_back) == (True, 33)
    assert await shop.balance(user.id) == 0
    await shop.deliver("charge.dispute.closed", dispute(intent_id, "won"))
    assert await shop.balance(user.id) == 33
    assert await reconcile_open_payments(shop.runtime, older_than=dt.timedelta(0)) == {}
    await shop.assert_ledger_consistent()
