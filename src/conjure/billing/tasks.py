"""The engine job that applies a Stripe billing event (seed 002's "queue → worker → record" step).

The webhook only verifies, records the event id and enqueues this job (so Stripe gets its 200
at once); the job re-reads the objects from Stripe and applies what they say now. Stripe being
slow or down is a retryable error (backoff, then the DLQ, from where an operator re-drives it),
so an event is never lost; a duplicate or late event re-reads the same, current state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from conjure.announcements import Announcer
from conjure.billing.gateway import BillingGateway
from conjure.billing.models import Invoice, Subscription
from conjure.billing.stripe_objects import StripeInvoice, StripeSubscription
from conjure.billing.sync import apply_invoice, apply_subscription, user_for_customer
from conjure.db import utcnow
from conjure.errors import NotFound
from conjure.events.service import publish_after_commit
from conjure.jobs.registry import JobContext, JobKind, PermanentJobError, RetryableJobError
from conjure.payments.service import PaymentProviderError, PaymentsNotConfigured
from conjure.payments.stripe_client import StripeGateway
from conjure.settings import Settings

log = structlog.get_logger("conjure.billing.tasks")

KIND = "billing.stripe_event"
PAYMENT_FAILED = "billing.payment_failed"
TRIAL_WILL_END = "billing.trial_will_end"
SUBSCRIPTION_UPDATED = "billing.subscription_updated"


@asynccontextmanager
async def billing_gateway(settings: Settings) -> AsyncIterator[BillingGateway]:
    """A gateway for one job attempt (a handler gets settings, not the runtime's clients)."""
    gateway = StripeGateway(settings)
    try:
        yield BillingGateway(gateway)
    finally:
        await gateway.aclose()


@dataclass
class Reads:
    """What one attempt read from Stripe, and when the reading started."""

    read_at: Any
    customer: tuple[str, str] | None = None  # (Stripe customer, our user id from the session)
    subscription: StripeSubscription | None = None
    invoice: StripeInvoice | None = None


async def _read(gateway: BillingGateway, event_type: str, object_id: str) -> Reads:
    reads = Reads(read_at=utcnow())
    sub_id: str | None = None
    if event_type == "checkout.session.completed":
        checkout = await gateway.retrieve_checkout_session(object_id)
        if checkout.get("mode") != "subscription" or not checkout.get("subscription"):
            return reads
        user = (checkout.get("metadata") or {}).get("user_id") or checkout.get("client_reference_id")
        customer = checkout.get("customer")
        if user and isinstance(customer, str):
            reads.customer = (customer, str(user))
        sub_id = str(checkout["subscription"])
    elif event_type.startswith("customer.subscription."):
        sub_id = object_id
    elif event_type.startswith("invoice."):
        reads.invoice = await gateway.retrieve_invoice(object_id)
        sub_id = reads.invoice.subscription
    if sub_id:
        reads.subscription = await gateway.retrieve_subscription(sub_id)
        latest = reads.subscription.latest_invoice
        if reads.invoice is None and latest:
            # The first payment may be seen here before its own invoice.paid: apply it now.
            reads.invoice = await gateway.retrieve_invoice(latest)
    return reads


async def apply_stripe_event(ctx: JobContext, announcer: Announcer | None = None) -> dict[str, Any]:
    """Re-read the event's subscription/invoice from Stripe and apply it (forward only, grants once);
    a subscription change is announced to every process's plan cache once it commits."""
    event_type, object_id = str(ctx.payload["type"]), str(ctx.payload["object_id"])
    try:
        async with billing_gateway(ctx.settings) as gateway:
            reads = await _read(gateway, event_type, object_id)
    except PaymentProviderError as exc:
        raise RetryableJobError("stripe_unavailable", exc.message) from None
    except NotFound:
        raise PermanentJobError("stripe_object_missing", f"Stripe has no {object_id}.") from None
    except PaymentsNotConfigured as exc:
        raise PermanentJobError("not_applicable", str(exc)) from None
    async with ctx.db.session() as session:
        if reads.customer is not None:
            # Recorded only for a user that exists (the session's metadata names ours).
            await user_for_customer(session, *reads.customer)
        sub_row: Subscription | None = None
        inv_row: Invoice | None = None
        if reads.subscription is not None:
            sub_row = await apply_subscription(
                session, ctx.settings, reads.subscription, read_at=reads.read_at, announcer=announcer
            )
            if sub_row is None:
                raise RetryableJobError("customer_unknown", "Whose subscription this is is not recorded yet.")
        if reads.invoice is not None:
            inv_row = await apply_invoice(session, ctx.settings, reads.invoice, read_at=reads.read_at)
            if inv_row is None:
                raise RetryableJobError("customer_unknown", "Whose invoice this is is not recorded yet.")
        _notify(session, ctx, event_type, sub_row, inv_row)
    return {
        "event_id": ctx.payload.get("event_id"),
        "subscription": sub_row.status if sub_row else None,
        "invoice": inv_row.status if inv_row else None,
    }


def _notify(
    session: Any, ctx: JobContext, event_type: str, sub: Subscription | None, inv: Invoice | None
) -> None:
    """Tell the user, once this commits: a failed payment, a trial ending, a subscription change."""
    user_id = sub.user_id if sub is not None else inv.user_id if inv is not None else None
    if user_id is None:
        return
    if event_type == "invoice.payment_failed" and inv is not None:
        data = {
            "invoice": inv.stripe_invoice_id,
            "amount_due": inv.amount_due,
            "currency": inv.currency,
            "hosted_invoice_url": inv.hosted_invoice_url,
            "subscription_status": sub.status if sub else None,
        }
        publish_after_commit(session, ctx.user_events, user_id, PAYMENT_FAILED, data)
    elif event_type == "customer.subscription.trial_will_end" and sub is not None:
        ends = sub.current_period_end.isoformat() if sub.current_period_end else None
        publish_after_commit(session, ctx.user_events, user_id, TRIAL_WILL_END, {"trial_end": ends})
    elif sub is not None:
        data = {"plan": sub.plan_id, "status": sub.status, "cancel_at_period_end": sub.cancel_at_period_end}
        publish_after_commit(session, ctx.user_events, user_id, SUBSCRIPTION_UPDATED, data)


def platform_kinds(announcer: Announcer | None) -> list[JobKind]:
    """Billing's job kinds for a process whose plan changes ``announcer`` tells everyone of."""

    async def handler(ctx: JobContext) -> dict[str, Any]:
        return await apply_stripe_event(ctx, announcer)

    stripe_event = JobKind(
        name=KIND,
        handler=handler,
        timeout_seconds=60.0,
        # Stripe down for a while is still not lost: 8 backed-off attempts, then the DLQ (re-drive).
        max_attempts=8,
        description="Apply a Stripe billing event (re-read from Stripe)",
    )
    return [stripe_event]
