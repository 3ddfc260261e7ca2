"""Subscriptions as the user sees them: status, plan changes, cancel/resume, invoices, account deletion.

Calls to Stripe never happen inside a database transaction (the router ends its read first);
what Stripe answers is applied through :mod:`conjure.billing.sync`, the same code the webhook
jobs use, so a route and a late event can never disagree.
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.billing.gateway import BillingGateway
from conjure.billing.models import FINAL_STATUSES, Invoice, Subscription, SubscriptionStatus
from conjure.billing.plans import (
    PlanLimits,
    current_subscription,
    grace_ends,
    plan_in_effect,
    plan_limits_for,
)
from conjure.billing.schemas import AllowanceOut, SubscriptionOut
from conjure.billing.sync import apply_subscription
from conjure.db import utcnow
from conjure.errors import Conflict, NotFound
from conjure.payments.stripe_client import StripeGateway
from conjure.settings import Settings, SubscriptionPlan
from conjure.wallet.grants import open_grants

log = structlog.get_logger("conjure.billing")
# What other domains call: the plan's limits now, and cancelling when an account is deleted.
__all__ = ["PlanLimits", "cancel_subscriptions_for_deleted_account", "plan_limits_for"]

# A subscription one can change, cancel or resume (not ended, not waiting for its first payment).
CHANGEABLE = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE})


class NoSubscription(NotFound):
    code = "no_subscription"


class NoBillingAccount(NotFound):
    code = "no_billing_account"


class AlreadySubscribed(Conflict):
    code = "already_subscribed"


async def live_subscription(session: AsyncSession, user_id: uuid.UUID) -> Subscription | None:
    """The user's subscription that can still be changed, or None."""
    sub = await current_subscription(session, user_id)
    return sub if sub is not None and sub.status in CHANGEABLE else None


async def require_live(session: AsyncSession, user_id: uuid.UUID) -> Subscription:
    sub = await live_subscription(session, user_id)
    if sub is None:
        raise NoSubscription("You have no active subscription.")
    return sub


def is_upgrade(current: SubscriptionPlan | None, new: SubscriptionPlan) -> bool:
    """An upgrade costs more per month (billed and granted pro rata now); else it waits for renewal."""
    if current is None:
        return True

    def monthly(plan: SubscriptionPlan) -> float:
        return plan.price / (12 if plan.interval == "year" else 1)

    return monthly(new) > monthly(current)


async def subscription_view(session: AsyncSession, settings: Settings, user_id: uuid.UUID) -> SubscriptionOut:
    """The caller's plan, status, period and remaining allowance."""
    sub = await current_subscription(session, user_id)
    now = utcnow()
    plan = plan_in_effect(settings, sub, now)
    grants = [g for g in await open_grants(session, user_id) if g.expires_at > now]
    allowance = AllowanceOut(
        remaining=sum(g.remaining for g in grants), next_expiry=grants[0].expires_at if grants else None
    )
    paid = plan.stripe_price_id is not None
    if sub is None:
        return SubscriptionOut(
            plan=plan.id, plan_name=plan.name, status="none", limits=plan.limits, allowance=allowance
        )
    return SubscriptionOut(
        plan=plan.id,
        plan_name=plan.name,
        status=sub.status,
        subscription_id=sub.stripe_subscription_id,
        next_plan=sub.plan_id if paid and sub.plan_id != plan.id and sub.status in CHANGEABLE else None,
        current_period_start=sub.current_period_start,
        current_period_end=sub.current_period_end,
        cancel_at_period_end=sub.cancel_at_period_end,
        grace_until=grace_ends(settings, sub),
        limits=plan.limits,
        allowance=allowance,
    )


async def list_invoices(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[Invoice], int]:
    """A page of the user's invoices (drafts left out), newest first, and how many in all."""
    where = (Invoice.user_id == user_id, Invoice.status != "draft")
    stmt = (
        select(Invoice)
        .where(*where)
        .order_by(func.coalesce(Invoice.stripe_created, Invoice.created_at).desc(), Invoice.id)
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Invoice).where(*where))
    return list((await session.execute(stmt)).scalars()), int(total or 0)


async def cancel_subscriptions_for_deleted_account(
    session: AsyncSession, user_id: uuid.UUID, settings: Settings
) -> None:
    """Cancel every subscription of the user at Stripe now (account deletion), and record it.

    No-op without subscriptions (Stripe need not be configured then). Stripe's answer is applied
    like any read, so the rows say ``canceled`` and nothing is granted afterwards.
    """
    stmt = select(Subscription).where(
        Subscription.user_id == user_id, Subscription.status.not_in(list(FINAL_STATUSES))
    )
    subs = list((await session.execute(stmt)).scalars())
    if not subs:
        return
    gateway = StripeGateway(settings)
    try:
        billing = BillingGateway(gateway)
        for sub in subs:
            read_at = utcnow()
            try:
                canceled = await billing.cancel_subscription(sub.stripe_subscription_id)
            except NotFound:
                canceled = await billing.retrieve_subscription(sub.stripe_subscription_id)
            await apply_subscription(session, settings, canceled, read_at=read_at)
            log.info("subscription_canceled_for_deletion", subscription_id=sub.stripe_subscription_id)
    finally:
        await gateway.aclose()
