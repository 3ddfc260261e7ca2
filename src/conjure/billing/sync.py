"""Apply what Stripe says about a subscription or an invoice: forward only, granting each paid invoice once.

Callers read the object from Stripe first (never trusting an event's copy, so events may come
in any order and any number of times) and pass ``read_at``, the time that read started. A row
whose stored read started later keeps its state (the newer read wins); a final status
(canceled, incomplete_expired; a paid or void invoice) never goes back, and a period never
moves backwards. Row locks are taken in one order: subscription, invoice, then the user's
wallet row (inside the grant), so concurrent jobs queue instead of deadlocking.
"""

from __future__ import annotations

import datetime as dt
import uuid
from fractions import Fraction
from typing import Any, cast

import structlog
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.announcements import PLANS_CHANGED, Announcer
from conjure.billing.models import (
    FINAL_STATUSES,
    PAID_STATUSES,
    BillingCustomer,
    Invoice,
    Subscription,
    SubscriptionStatus,
)
from conjure.billing.plans import period_allowance, plan_for_price
from conjure.billing.refunds import claw_back_after_grant
from conjure.billing.stripe_objects import StripeInvoice, StripeSubscription
from conjure.db import insert_ignore, utcnow
from conjure.settings import Settings, SubscriptionPlan
from conjure.users.models import User
from conjure.wallet.grants import grant_allowance

log = structlog.get_logger("conjure.billing.sync")

NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # "not synced yet": any read is newer
# An invoice's statuses in the only order Stripe moves them (uncollectible may still be paid).
_INVOICE_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}
FALLBACK_PERIOD = {"month": dt.timedelta(days=30), "year": dt.timedelta(days=365)}


def invoice_grant_key(stripe_invoice_id: str) -> str:
    """The credit grant's source key for an invoice: one grant per paid invoice."""
    return f"invoice:{stripe_invoice_id}"


# --- customers -----------------------------------------------------------------------------


async def customer_id_for(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    return await session.scalar(
        select(BillingCustomer.stripe_customer_id).where(BillingCustomer.user_id == user_id)
    )


async def record_customer(session: AsyncSession, user_id: uuid.UUID, customer_id: str) -> str:
    """Keep the user's Stripe customer (the first one recorded stays); returns the stored id."""
    table = cast(Table, BillingCustomer.__table__)
    await insert_ignore(
        session, table, {"user_id": user_id, "stripe_customer_id": customer_id, "created_at": utcnow()}
    )
    return str(await customer_id_for(session, user_id))


async def user_for_customer(
    session: AsyncSession, customer_id: str, metadata_user: str | None = None
) -> uuid.UUID | None:
    """Whose customer this is: our record, else the user named in the object's metadata (then recorded)."""
    found = await session.scalar(
        select(BillingCustomer.user_id).where(BillingCustomer.stripe_customer_id == customer_id)
    )
    if found is not None:
        return found
    try:
        user_id = uuid.UUID(metadata_user or "")
    except ValueError:
        return None
    if await session.get(User, user_id) is None:
        return None
    await record_customer(session, user_id, customer_id)
    return user_id


# --- subscriptions -------------------------------------------------------------------------


async def _lock_subscription(session: AsyncSession, stripe_id: str) -> Subscription | None:
    stmt = (
        select(Subscription)
        .where(Subscription.stripe_subscription_id == stripe_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def _is_older(row: Subscription, sub: StripeSubscription, read_at: dt.datetime) -> bool:
    if row.synced_at >= read_at:
        return True
    if row.status in FINAL_STATUSES and sub.status not in FINAL_STATUSES:
        return True
    ends = (row.current_period_end, sub.current_period_end)
    return ends[0] is not None and ends[1] is not None and ends[1] < ends[0]


async def apply_subscription(
    session: AsyncSession,
    settings: Settings,
    sub: StripeSubscription,
    *,
    read_at: dt.datetime,
    announcer: Announcer | None = None,
) -> Subscription | None:
    """Bring our row in line with this read of the subscription; None when we cannot tell whose it is.

    When it changed, ``announcer`` tells every process's plan cache once it commits (a submit reads
    the class of its job from there)."""
    user_id = await user_for_customer(session, sub.customer, sub.metadata.get("user_id"))
    if user_id is None:
        return None
    plan = plan_for_price(settings, sub.price_id)
    now = utcnow()
    await insert_ignore(
        session,
        cast(Table, Subscription.__table__),
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "stripe_subscription_id": sub.id,
            "stripe_customer_id": sub.customer,
            "plan_id": plan.id if plan else "unknown",
            "status": sub.status,
            "cancel_at_period_end": False,
            "synced_at": NEVER,
            "created_at": now,
            "updated_at": now,
        },
    )
    row = await _lock_subscription(session, sub.id)
    if row is None or _is_older(row, sub, read_at):
        return row
    if plan is None:
        log.error("subscription_price_unknown", subscription_id=sub.id, price_id=sub.price_id)
    row.plan_id = plan.id if plan else row.plan_id
    if row.period_plan_id is None and sub.status in PAID_STATUSES:
        row.period_plan_id = row.plan_id
    row.status = sub.status
    row.current_period_start = sub.current_period_start
    row.current_period_end = sub.current_period_end
    row.cancel_at_period_end = sub.cancel_at_period_end
    row.canceled_at = sub.canceled_at
    row.ended_at = sub.ended_at
    row.latest_invoice_id = sub.latest_invoice or row.latest_invoice_id
    if sub.status == SubscriptionStatus.PAST_DUE:
        row.past_due_since = row.past_due_since or now  # the grace period counts from the first
    elif sub.status in PAID_STATUSES:
        row.past_due_since = None
    row.synced_at = read_at
    row.updated_at = now
    if announcer is not None:
        announcer.after_commit(session, PLANS_CHANGED, user_id)
    return row


# --- invoices ------------------------------------------------------------------------------


async def _lock_invoice(session: AsyncSession, stripe_id: str) -> Invoice | None:
    stmt = (
        select(Invoice)
        .where(Invoice.stripe_invoice_id == stripe_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def _invoice_plan(settings: Settings, inv: StripeInvoice) -> SubscriptionPlan | None:
    """The plan the invoice pays for: the (last) positive service line's price."""
    plans = [plan_for_price(settings, line.price_id) for line in inv.service_lines if line.amount >= 0]
    found = [plan for plan in plans if plan is not None]
    return found[-1] if found else None


async def apply_invoice(
    session: AsyncSession, settings: Settings, inv: StripeInvoice, *, read_at: dt.datetime
) -> Invoice | None:
    """Record this read of the invoice and, once paid, grant its allowance (once per invoice)."""
    user_id = await user_for_customer(session, inv.customer)
    if user_id is None:
        return None
    plan = _invoice_plan(settings, inv)
    now = utcnow()
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "stripe_invoice_id": inv.id,
        "status": inv.status,
        "currency": inv.currency[:3],
        "amount_due": 0,
        "amount_paid": 0,
        "amount_refunded": 0,
        "stars_granted": 0,
        "disputed": False,
        "synced_at": NEVER,
        "created_at": now,
        "updated_at": now,
    }
    await insert_ignore(session, cast(Table, Invoice.__table__), values)
    row = await _lock_invoice(session, inv.id)
    if row is None:
        return None
    newer = row.synced_at < read_at and _INVOICE_RANK.get(inv.status, 0) >= _INVOICE_RANK.get(row.status, 0)
    if newer:
        row.status = inv.status
        row.stripe_subscription_id = inv.subscription
        row.stripe_payment_intent_id = inv.payment_intent or row.stripe_payment_intent_id
        row.number = inv.number
        row.billing_reason = inv.billing_reason
        row.plan_id = plan.id if plan else None
        row.amount_due, row.amount_paid = inv.amount_due, inv.amount_paid
        row.period_start, row.period_end = inv.period_start, inv.period_end
        row.hosted_invoice_url, row.invoice_pdf = inv.hosted_invoice_url, inv.invoice_pdf
        row.stripe_created = inv.created
        row.synced_at, row.updated_at = read_at, now
    if inv.status == "paid":
        await grant_for_invoice(session, settings, row, inv, now=now)
    return row


def _prorated(settings: Settings, inv: StripeInvoice, sub: Subscription | None) -> int:
    """Stars for a mid-period plan change: each proration line's share of its plan's allowance
    (the unused time of the old plan counts negative), rounded to the nearest star (seconds between
    the change and the invoice must not cost one), never below zero."""
    total = Fraction(0)
    for line in inv.service_lines:
        plan = plan_for_price(settings, line.price_id)
        if not line.proration or plan is None or line.period_start is None or line.period_end is None:
            continue
        if sub and sub.current_period_start and sub.current_period_end == line.period_end:
            length = sub.current_period_end - sub.current_period_start
        else:
            length = FALLBACK_PERIOD[plan.interval]
        used = line.period_end - line.period_start
        share = Fraction(int(used.total_seconds()), max(int(length.total_seconds()), 1))
        sign = -1 if line.amount < 0 else 1
        total += sign * period_allowance(plan) * min(share, Fraction(1))
    return max(int(total + Fraction(1, 2)), 0)


async def grant_for_invoice(
    session: AsyncSession, settings: Settings, row: Invoice, inv: StripeInvoice, *, now: dt.datetime
) -> int:
    """Grant a paid invoice's allowance once (keyed on the invoice), expiring at its period's end."""
    sub = await _lock_subscription(session, inv.subscription) if inv.subscription else None
    start, end = inv.period_start, inv.period_end
    if sub is not None and sub.ended_at is not None and start is not None and start >= sub.ended_at:
        return 0  # a canceled subscription gets no further grants
    if end is None or end <= now:
        return 0  # paid after its period ended: nothing left to spend it in
    plan = _invoice_plan(settings, inv)
    if plan is None:
        return 0
    proration = any(line.proration for line in inv.service_lines)
    stars = _prorated(settings, inv, sub) if proration else period_allowance(plan)
    grant = await grant_allowance(
        session,
        row.user_id,
        source_key=invoice_grant_key(inv.id),
        amount=stars,
        expires_at=end,
        meta={"invoice_id": inv.id, "plan": plan.id, "billing_reason": inv.billing_reason},
    )
    if sub is not None and (sub.current_period_end is None or end >= sub.current_period_end):
        sub.period_plan_id = plan.id  # what this period was paid for (a downgrade starts here)
    if grant is None:
        return 0
    row.stars_granted = stars
    log.info("allowance_granted", invoice_id=inv.id, stars=stars, plan=plan.id)
    await claw_back_after_grant(session, row)  # a refund or dispute that came before the payment
    return stars
