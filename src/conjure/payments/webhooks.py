"""Stripe webhook events: record each event id once (``processed_events``), then route it.

The event id is inserted in the same transaction as the changes the event makes: a
duplicate delivery finds the id and is answered 200 without doing anything, and an
event whose handling fails leaves no id behind, so Stripe's retry is processed.
Handling only touches our database (no calls out), so Stripe gets its answer fast.
Subscription events (``conjure.billing.webhooks.BILLING_EVENTS``) are not applied here: they
are handed to an engine job in the same transaction, which re-reads them from Stripe. Refunds
and disputes of a payment that paid a subscription invoice go to ``conjure.billing.refunds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import structlog
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.billing import refunds as billing_refunds
from conjure.billing.webhooks import BILLING_EVENTS, enqueue_event
from conjure.db import insert_ignore, utcnow
from conjure.observability.metrics import STRIPE_WEBHOOK_EVENTS
from conjure.payments import disputes, service
from conjure.payments.models import Payment, ProcessedEvent
from conjure.payments.purposes import PurposeHandler, purpose_of
from conjure.payments.schemas import Intent

if TYPE_CHECKING:
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.payments.webhooks")

HANDLED = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.closed",
    }
)


async def record_event(session: AsyncSession, source: str, event_id: str, event_type: str) -> bool:
    """Insert-or-ignore the event id; False when it was processed before (or is being processed now)."""
    table = cast(Table, ProcessedEvent.__table__)
    values = {"source": source, "event_id": event_id, "type": event_type[:100], "received_at": utcnow()}
    return await insert_ignore(session, table, values)


async def handle_stripe_event(
    session: AsyncSession,
    runtime: Runtime,
    event: dict[str, Any],
    purposes: Mapping[str, PurposeHandler] | None = None,
) -> str:
    """Apply one verified Stripe event; returns ``processed``, ``queued``, ``duplicate`` or ``ignored``.

    An intent an app made for its own ``metadata.purpose`` goes to that app's handler.
    """
    settings = runtime.settings
    event_id, event_type = str(event["id"]), str(event.get("type", ""))
    if not await record_event(session, "stripe", event_id, event_type):
        STRIPE_WEBHOOK_EVENTS.labels(event_type, "duplicate").inc()
        log.info("stripe_event_duplicate", event_id=event_id, type=event_type)
        return "duplicate"
    if event_type in BILLING_EVENTS:
        outcome = await enqueue_event(session, runtime, event)
        STRIPE_WEBHOOK_EVENTS.labels(event_type, outcome).inc()
        return outcome
    if event_type not in HANDLED:
        STRIPE_WEBHOOK_EVENTS.labels("other", "ignored").inc()
        return "ignored"
    obj = (event.get("data") or {}).get("object") or {}
    if event_type.startswith("charge.") and (invoiced := await _invoice_charge(session, event_type, obj)):
        STRIPE_WEBHOOK_EVENTS.labels(event_type, invoiced).inc()
        return invoiced
    handler = (purposes or {}).get(purpose_of(obj) or "")
    if handler is not None:
        outcome = await handler(session, event_type, obj)
        STRIPE_WEBHOOK_EVENTS.labels(event_type, outcome).inc()
        return outcome
    if event_type.startswith("charge.dispute."):
        outcome = await _dispute(session, event_type, obj)
        STRIPE_WEBHOOK_EVENTS.labels(event_type, outcome).inc()
        return outcome
    if event_type == "charge.refunded":
        intent_id = obj.get("payment_intent")
        if not intent_id:
            STRIPE_WEBHOOK_EVENTS.labels(event_type, "ignored").inc()
            return "ignored"  # a charge outside PaymentIntents was never ours to credit
        await service.apply_refund(session, str(intent_id), int(obj.get("amount_refunded") or 0))
    else:
        intent = Intent.from_dict(obj)
        if event_type == "payment_intent.succeeded":
            await service.settle_succeeded(session, settings, intent)
        elif event_type == "payment_intent.payment_failed":
            await service.mark_failed(session, intent)
        else:
            await service.mark_canceled(session, intent)
    STRIPE_WEBHOOK_EVENTS.labels(event_type, "processed").inc()
    log.info("stripe_event_processed", event_id=event_id, type=event_type)
    return "processed"


async def _dispute(session: AsyncSession, event_type: str, dispute: dict[str, Any]) -> str:
    intent_id = dispute.get("payment_intent")
    if not intent_id:
        return "ignored"  # a charge outside PaymentIntents was never ours to credit
    payment = await service.lock_payment_for_intent(session, str(intent_id))
    if event_type == "charge.dispute.created":
        return await disputes.open_dispute(session, payment, dispute)
    return await disputes.close_dispute(session, payment, dispute)


async def _invoice_charge(session: AsyncSession, event_type: str, obj: dict[str, Any]) -> str | None:
    """A refund or dispute of a subscription invoice's payment (not a star package's): apply it
    to the invoice's grant; None when the charge is not an invoice's we know."""
    intent_id = obj.get("payment_intent")
    if not intent_id:
        return None
    package = select(Payment.id).where(Payment.stripe_payment_intent_id == str(intent_id))
    if await session.scalar(package) is not None:
        return None
    invoice = await billing_refunds.invoice_for_intent(session, str(intent_id))
    if invoice is None:
        return None
    if event_type == "charge.refunded":
        await billing_refunds.refund_invoice(session, invoice, int(obj.get("amount_refunded") or 0))
        return "processed"
    return await billing_refunds.dispute_invoice(session, invoice, event_type, obj)
