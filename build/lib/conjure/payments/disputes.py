"""Chargebacks: a disputed payment's stars are taken back while the dispute is open.

Policy (``charge.dispute.created`` / ``charge.dispute.closed``):

* **opened**: the payment becomes ``disputed`` and every star of its package not already
  taken back (by refunds) is clawed back, one ledger row with the key
  ``payment:{id}:dispute`` (Stripe allows one dispute per charge). Stars the customer has
  already spent cannot come back: the balance goes negative, the row and the payment are
  flagged, and that negative balance is the customer's **debt** — nothing can hold stars
  while available stars are below zero, so spending is blocked until a purchase, a grant or
  a won dispute clears it.
* **won** (or an inquiry closed without a chargeback, ``warning_closed``): ``dispute_won``;
  exactly the stars the dispute took are credited back (key ``payment:{id}:dispute:won``).
* **lost**: ``dispute_lost``; the stars stay taken back (clawed back now if they were not).

Any order, any number of deliveries: a dispute seen before the payment was credited is
applied right after the credit (``settle_succeeded``); a late ``created`` after the close
changes nothing; the ledger keys make every step happen once.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.db import utcnow
from conjure.observability.metrics import PAYMENT_CLAWBACKS
from conjure.payments.models import Payment, PaymentStatus
from conjure.users.models import User
from conjure.wallet.models import TransactionType, WalletTransaction
from conjure.wallet.service import clawback_stars, credit

log = structlog.get_logger("conjure.payments.disputes")

DISPUTE_STATES = frozenset({PaymentStatus.DISPUTED, PaymentStatus.DISPUTE_WON, PaymentStatus.DISPUTE_LOST})
# Stripe's closed statuses: an inquiry ("warning_…") that closes never became a chargeback.
_WON = frozenset({"won", "warning_closed"})
_LOST = frozenset({"lost"})


def _key(payment: Payment) -> str:
    return f"payment:{payment.id}:dispute"


async def open_dispute(session: AsyncSession, payment: Payment, dispute: dict[str, Any]) -> str:
    """``charge.dispute.created`` on a locked payment; ``processed`` or ``ignored``."""
    if payment.status in (PaymentStatus.DISPUTE_WON, PaymentStatus.DISPUTE_LOST):
        log.info("dispute_already_closed", payment_id=str(payment.id))
        return "ignored"  # the close was delivered first: it decided
    payment.status = PaymentStatus.DISPUTED
    reason = str(dispute.get("reason") or "no reason given")[:100]
    payment.last_error = f"Disputed by the customer ({reason})."
    payment.updated_at = utcnow()
    if payment.credited_at is not None:
        await claw_back_dispute(session, payment)
    log.warning("payment_disputed", payment_id=str(payment.id), dispute_id=str(dispute.get("id")))
    return "processed"


async def close_dispute(session: AsyncSession, payment: Payment, dispute: dict[str, Any]) -> str:
    """``charge.dispute.closed`` on a locked payment: settle it won or lost."""
    status = str(dispute.get("status") or "")
    if status in _LOST:
        payment.status = PaymentStatus.DISPUTE_LOST
        if payment.credited_at is not None:
            await claw_back_dispute(session, payment)
    elif status in _WON:
        payment.status = PaymentStatus.DISPUTE_WON
        await _give_back(session, payment)
    else:
        log.error("dispute_closed_status_unknown", payment_id=str(payment.id), status=status[:40])
        return "ignored"
    payment.last_error = f"Dispute closed: {status}."
    payment.updated_at = utcnow()
    log.info("payment_dispute_closed", payment_id=str(payment.id), outcome=status)
    return "processed"


async def claw_back_dispute(session: AsyncSession, payment: Payment) -> None:
    """Take back the package's stars not taken back yet (once per payment; may overdraw)."""
    missing = payment.total_stars - payment.stars_clawed_back
    if missing <= 0:
        return
    if not await clawback_stars(
        session, payment.user_id, amount=missing, idempotency_key=_key(payment), payment_id=payment.id
    ):
        return
    payment.stars_clawed_back = payment.total_stars
    available = await session.scalar(
        select(User.star_balance - User.stars_held).where(User.id == payment.user_id)
    )
    if available is not None and available < 0:
        payment.flagged = True  # the customer owes stars: a debt that blocks spending until cleared
        log.warning("payment_dispute_debt", payment_id=str(payment.id), debt=-int(available))
    PAYMENT_CLAWBACKS.inc()


async def _give_back(session: AsyncSession, payment: Payment) -> None:
    """Credit back exactly what the dispute took, once."""
    taken = await session.scalar(
        select(WalletTransaction.amount).where(WalletTransaction.idempotency_key == _key(payment))
    )
    if not taken:
        return  # nothing was taken (never credited, or the dispute opened and closed unseen)
    if await credit(
        session,
        payment.user_id,
        amount=-int(taken),
        currency="star",
        tx_type=TransactionType.DISPUTE_WON,
        idempotency_key=f"{_key(payment)}:won",
        payment_id=payment.id,
        metadata={"payment_intent_id": payment.stripe_payment_intent_id},
    ):
        payment.stars_clawed_back += int(taken)
