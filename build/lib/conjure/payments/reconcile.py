"""Catch up on payments whose outcome we never heard of (webhook lost, client never confirmed).

Each open payment's intent is fetched from Stripe outside any transaction, then
settled in its own short transaction through the same :func:`settle_intent` the
confirm call and webhooks use, so running it any number of times credits nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import structlog
from sqlalchemy import select

from conjure.db import utcnow
from conjure.errors import ConjureError
from conjure.payments.disputes import DISPUTE_STATES
from conjure.payments.models import Payment, PaymentStatus
from conjure.payments.service import settle_intent
from conjure.payments.stripe_client import gateway_for
from conjure.runtime import Runtime

log = structlog.get_logger("conjure.payments.reconcile")


async def reconcile_open_payments(
    runtime: Runtime,
    *,
    older_than: dt.timedelta,
    max_age: dt.timedelta = dt.timedelta(days=7),
    limit: int = 500,
) -> Counter[str]:
    """Settle pending or failed payments created between ``max_age`` and ``older_than`` ago.

    Returns how many payments ended in each status (``error`` for Stripe failures).
    """
    gateway = gateway_for(runtime)
    now = utcnow()
    async with runtime.db.session() as session:
        stmt = (
            select(Payment.stripe_payment_intent_id)
            .where(
                # A dispute can be seen before the success: such a payment is still uncredited.
                Payment.status.in_((PaymentStatus.PENDING, PaymentStatus.FAILED, *DISPUTE_STATES)),
                Payment.credited_at.is_(None),
                Payment.created_at <= now - older_than,
                Payment.created_at >= now - max_age,
            )
            .order_by(Payment.created_at)
            .limit(limit)
        )
        intent_ids = list((await session.execute(stmt)).scalars())
    outcome: Counter[str] = Counter()
    for intent_id in intent_ids:
        try:
            intent = await gateway.retrieve_intent(intent_id)
        except ConjureError:
            outcome["error"] += 1
            continue
        async with runtime.db.session() as session:
            payment = await settle_intent(session, runtime.settings, intent)
            outcome[payment.status if payment else "missing"] += 1
    log.info("payments_reconciled", checked=len(intent_ids), **dict(outcome))
    return outcome
