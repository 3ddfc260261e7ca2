"""What account deletion asks of billing: every live subscription canceled at Stripe at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from conjure.billing.plans import plan_limits_for
from conjure.billing.service import cancel_subscriptions_for_deleted_account
from tests.billing.conftest import Billing

BillingFactory = Callable[..., Awaitable[Billing]]


async def test_cancel_subscriptions_for_deleted_account(
    billing_factory: BillingFactory, sqlite_url: str
) -> None:
    billing = await billing_factory(database_url=sqlite_url)
    user, headers = await billing.user()
    sub_id, events = await billing.checkout(headers, "pro")
    await billing.run(events)
    runtime = billing.shop.runtime
    async with runtime.db.session() as session:
        assert (await plan_limits_for(session, user.id, runtime.settings)).get(
            "staging_images_per_month"
        ) == 500
        await cancel_subscriptions_for_deleted_account(session, user.id, runtime.settings)
    assert billing.fake.subscriptions[sub_id]["status"] == "canceled"
    assert (await billing.subscription(sub_id)).status == "canceled"
    async with runtime.db.session() as session:
        limits = await plan_limits_for(session, user.id, runtime.settings)
        assert (limits.plan_id, limits.get("staging_images_per_month")) == ("free", 5)
        # Nothing left to cancel: no call to Stripe at all.
        calls = len(billing.shop.stripe.requests)
        await cancel_subscriptions_for_deleted_account(session, user.id, runtime.settings)
        assert len(billing.shop.stripe.requests) == calls
    # Stripe's own "deleted" event, arriving late, changes nothing and grants nothing.
    await billing.run(billing.fake.take_events(), times=2)
    assert [g.amount for g in await billing.grants(user.id)] == [100]
