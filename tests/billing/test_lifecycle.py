"""A subscription's life: renewal, expiry, dunning and the free tier, cancel/resume, plan changes, refunds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from conjure.billing.plans import plan_in_effect, plan_limits_for
from conjure.billing.tasks import PAYMENT_FAILED
from conjure.db import utcnow
from conjure.events.types import START
from conjure.jobs.dlq import redrive
from conjure.wallet.grants import expire_due_grants
from tests.billing.conftest import Billing

BillingFactory = Callable[..., Awaitable[Billing]]


async def test_renewal_grants_again_and_the_unused_allowance_expires_with_a_ledger_row(
    billing_factory: BillingFactory, backend: dict[str, str]
) -> None:
    billing = await billing_factory(**backend)
    user, headers = await billing.user(stars=4)  # bought stars: spent after the allowance
    sub_id, events = await billing.checkout(headers, "plus")
    await billing.run(events, times=3, shuffle=True)
    first_end = billing.fake.period_end(sub_id)
    await billing.run(billing.fake.renew(sub_id), times=3, shuffle=True)
    grants = await billing.grants(user.id)
    assert [(g.amount, g.expires_at) for g in grants] == [
        (30, first_end),
        (30, billing.fake.period_end(sub_id)),
    ]
    assert await billing.balance(user.id) == 64

    assert await expire_due_grants(billing.shop.runtime.db, now=first_end) == 30
    [written_off] = await billing.ledger(user.id, "allowance_expiry")
    assert written_off.amount == -30
    assert await billing.balance(user.id) == 34
    sub = await billing.subscription(sub_id)
    assert (sub.status, sub.current_period_end) == ("active", billing.fake.period_end(sub_id))


async def test_payment_failed_keeps_the_plan_for_the_grace_period_then_the_free_tier(
    billing_factory: BillingFactory, sqlite_url: str
) -> None:
    billing = await billing_factory(database_url=sqlite_url)
    user, headers = await billing.user()
    sub_id, events = await billing.checkout(headers, "pro")
    await billing.run(events)
    failed = billing.fake.renew(sub_id, fail=True)
    await billing.run(failed, times=3, shuffle=True)

    sub = await billing.subscription(sub_id)
    assert sub.status == "past_due"
    assert sub.past_due_since is not None
    assert [g.amount for g in await billing.grants(user.id)] == [100]  # the unpaid period grants nothing
    status = (await billing.client.get("/api/v1/billing/subscription", headers=headers)).json()
    assert (status["plan"], status["status"]) == ("pro", "past_due")
    grace_until = dt.datetime.fromisoformat(status["grace_until"])
    assert grace_until == sub.past_due_since + dt.timedelta(days=3)
    async with billing.shop.runtime.db.session() as session:
        assert (await plan_limits_for(session, user.id, billing.shop.runtime.settings)).plan_id == "pro"
    settings = billing.shop.runtime.settings
    assert plan_in_effect(settings, sub, grace_until - dt.timedelta(seconds=1)).id == "pro"
    assert plan_in_effect(settings, sub, grace_until).id == "free"

    told = [
        e for e in await billing.shop.runtime.user_events.replay(user.id, START) if e.type == PAYMENT_FAILED
    ]
    assert len(told) == 1  # one event per failed payment, however often Stripe said so
    assert told[0].payload()["amount_due"] == 49_900

    await billing.run(billing.fake.pay_retry(failed[0][1]["id"]))
    sub = await billing.subscription(sub_id)
    assert (sub.status, sub.past_due_since) == ("active", None)
    assert [g.amount for g in await billing.grants(user.id)] == [100, 100]


async def test_dunning_exhausted_cancels_and_falls_back_to_free(
    billing_factory: BillingFactory, sqlite_url: str
) -> None:
    billing = await billing_factory(database_url=sqlite_url)
    user, headers = await billing.user()
    sub_id, events = await billing.checkout(headers, "plus")
    await billing.run(events)
    await billing.run(billing.fake.renew(sub_id, fail=True))
    await billing.run(billing.fake.give_up(sub_id))
    async with billing.shop.runtime.db.session() as session:
        limits = await plan_limits_for(session, user.id, billing.shop.runtime.settings)
    assert (limits.plan_id, limits.paid, limits.get("queue_lane")) == ("free", False, "standard")
    # A late "payment failed" or "updated" (past_due) cannot bring it back.
    await billing.run([*billing.fake.take_events(), ("customer.subscription.updated", {"id": sub_id})])
    assert (await billing.subscription(sub_id)).status == "canceled"


async def test_cancel_at_period_end_then_no_grant_at_the_next_period(
    billing_factory: BillingFactory, sqlite_url: str
) -> None:
    billing = await billing_factory(database_url=sqlite_url)
    user, headers = await billing.user()
    sub_id, events = await billing.checkout(headers, "plus")
    await billing.run(events)
    canceled = await billing.client.post("/api/v1/billing/cancel", headers=headers)
    assert canceled.status_code == 200
    assert (canceled.json()["cancel_at_period_end"], canceled.json()["plan"]) == (True, "plus")
    resumed = await billing.client.post("/api/v1/billing/resume", headers=headers)
    assert resumed.json()["cancel_at_period_end"] is False
    await billing.client.post("/api/v1/billing/cancel", headers=headers)
    await billing.run(billing.fake.take_events(), times=2, shuffle=True)
    assert (await billing.subscription(sub_id)).cancel_at_period_end is True

    await billing.run(billing.fake.renew(sub_id), times=3, shuffle=True)
    sub = await billing.subscription(sub_id)
    assert sub.status == "canceled"
    assert [g.amount for g in await billing.grants(user.id)] == [30]
    status = (await billing.client.get("/api/v1/billing/subscription", headers=headers)).json()
    assert status["plan"] == "free"


async def test_upgrade_grants_the_prorated_difference_and_a_downgrade_waits_for_renewal(
    billing_factory: BillingFactory, sqlite_url: str
) -> None:
    billing = await billing_factory(database_url=sqlite_url)
    user, headers = await billing.user()
    # Half the period has gone by: an upgrade now is worth half the difference (100 - 30) / 2.
    billing.fake.backdate = 15 * 24 * 3600
    sub_id, events = await billing.checkout(headers, "plus")
    await billing.run(events)

    upgraded = await billing.subscribe(headers, "pro")
    assert (upgraded["flow"], upgraded["change"]) == ("change", "upgrade")
    await billing.run(billing.fake.take_events(), times=3, shuffle=True)
    grants = await billing.grants(user.id)
    assert sorted(g.amount for g in grants) == [30, 35]
    status = (await billing.client.get("/api/v1/billing/subscription", headers=headers)).json()
    assert status["plan"] == "pro"

    downgraded = await billing.subscribe(headers, "plus")
    assert downgraded["change"] == "downgrade"
    await billing.run(billing.fake.take_events())
    assert len(await billing.grants(user.id)) == 2  # nothing billed or granted now
    status = (await billing.client.get("/api/v1/billing/subscription", headers=headers)).json()
    assert (status["plan"], status["next_plan"]) == ("pro", "plus")  # pro until the renewal
    await billing.run(billing.fake.renew(sub_id))
    assert sorted(g.amount for g in await billing.grants(user.id)) == [30, 30, 35]
    status = (await billing.client.get("/api/v1/billing/subscription", headers=headers)).json()
    assert (status["plan"], status["next_plan"]) == ("plus", None)


async def test_refund_claws_back_the_unspent_allowance(
    billing_factory: BillingFactory, backend: dict[str, str]
) -> None:
    billing = await billing_factory(**backend)
    user, headers = await billing.user(stars=5)
    sub_id, events = await billing.checkout(headers, "plus")
    await billing.run(events)
    invoice_id = billing.fake.subscriptions[sub_id]["latest_invoice"]
    half = await billing.shop.deliver(
        "charge.refunded", billing.fake.charge_of(invoice_id, amount_refunded=9_950)
    )
    assert half.json()["status"] == "processed"
    assert await billing.balance(user.id) == 5 + 15
    full = billing.fake.charge_of(invoice_id, amount_refunded=19_900)
    responses = await billing.deliver([("charge.refunded", full)], times=3)
    assert sorted(r.json()["status"] for r in responses) == ["duplicate", "duplicate", "processed"]
    assert await billing.balance(user.id) == 5  # the bought stars stay
    [invoice] = await billing.invoices(user.id)
    assert (invoice.amount_refunded, invoice.stars_granted) == (19_900, 30)
    assert [r.amount for r in await billing.ledger(user.id, "allowance_clawback")] == [-15, -15]


async def test_dispute_takes_the_allowance_back_and_a_won_dispute_returns_it(
    billing_factory: BillingFactory, sqlite_url: str
) -> None:
    billing = await billing_factory(database_url=sqlite_url)
    user, headers = await billing.user()
    sub_id, events = await billing.checkout(headers, "plus")
    await billing.run(events)
    intent = billing.fake.charge_of(billing.fake.subscriptions[sub_id]["latest_invoice"])["payment_intent"]
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": intent, "reason": "fraudulent"}
    assert (await billing.shop.deliver("charge.dispute.created", dispute)).json()["status"] == "processed"
    assert await billing.balance(user.id) == 0
    won = {**dispute, "status": "won"}
    assert (await billing.shop.deliver("charge.dispute.closed", won)).json()["status"] == "processed"
    assert await billing.balance(user.id) == 30
    assert (await billing.grants(user.id))[0].remaining == 30


async def test_a_slow_stripe_is_retried_and_nothing_is_lost(
    billing_factory: BillingFactory, sqlite_url: str
) -> None:
    billing = await billing_factory(database_url=sqlite_url)
    user, headers = await billing.user()
    started = await billing.subscribe(headers, "plus")
    events = billing.fake.complete_checkout(started["checkout_session_id"])
    billing.fake.fail_next = 2  # Stripe answers 500 to the next reads: the jobs retry with backoff
    await billing.run(events)
    assert [g.amount for g in await billing.grants(user.id)] == [30]
    assert utcnow() < billing.fake.period_end(
        billing.fake.sessions[started["checkout_session_id"]]["subscription"]
    )


async def test_stripe_down_past_every_retry_leaves_the_event_in_the_dlq_to_redrive(
    billing_factory: BillingFactory, sqlite_url: str
) -> None:
    billing = await billing_factory(database_url=sqlite_url)
    user, headers = await billing.user()
    _, events = await billing.checkout(headers, "plus")
    billing.fake.fail_next = 1_000
    await billing.deliver(events[2:])  # invoice.paid only
    [job] = await billing.ended()
    assert (job.status, job.attempts, job.error_code) == ("dlq", 8, "stripe_unavailable")
    assert await billing.balance(user.id) == 0
    billing.fake.fail_next = 0
    async with billing.shop.runtime.db.session() as session:
        await redrive(session, billing.shop.runtime, [job.id])
    await billing.settle()
    assert [g.amount for g in await billing.grants(user.id)] == [30]


async def test_trial_will_end_tells_the_user(billing_factory: BillingFactory, sqlite_url: str) -> None:
    billing = await billing_factory(database_url=sqlite_url)
    user, headers = await billing.user()
    sub_id, events = await billing.checkout(headers, "plus")
    await billing.run([*events, ("customer.subscription.trial_will_end", {"id": sub_id})])
    told = [e.payload() for e in await billing.shop.runtime.user_events.replay(user.id, START)]
    assert {"trial_end": billing.fake.period_end(sub_id).isoformat()} in told
