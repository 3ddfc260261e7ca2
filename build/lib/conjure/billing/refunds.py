"""Refunds and disputes of a subscription invoice take back the unspent part of its allowance grant.

The same policy as star packages (``conjure.payments.disputes``), on the invoice's grant: a refund
takes back its share of the grant (from the cumulative refunded amount, all of it at a full
refund), a dispute takes back all of it while open, a won dispute gives back what it took. Only
unspent stars come back: what the customer already spent stays spent (the grant's own rule,
``conjure.wallet.grants.claw_back_grant``). Charge events find the invoice by its PaymentIntent.
A refund or dispute applied before the allowance was granted is applied right after the grant.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.billing.models import Invoice
from conjure.wallet.grants import claw_back_grant, restore_grant
from conjure.wallet.models import WalletTransaction

log = structlog.get_logger("conjure.billing.refunds")

_WON = frozenset({"won", "warning_closed"})


def _source(invoice: Invoice) -> str:
    return f"invoice:{invoice.stripe_invoice_id}"


def _dispute_key(invoice: Invoice) -> str:
    return f"allowance_dispute:{invoice.stripe_invoice_id}"


async def invoice_for_intent(session: AsyncSession, intent_id: str) -> Invoice | None:
    """The invoice this PaymentIntent paid, locked; None when it paid no invoice we know."""
    stmt = (
        select(Invoice)
        .where(Invoice.stripe_payment_intent_id == intent_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalars().first()


def refund_target(granted: int, paid: int, refunded: int) -> int:
    """Stars of the grant to have taken back once ``refunded`` of ``paid`` went back (all at full)."""
    if paid <= 0 or refunded >= paid:
        return granted
    return granted * max(refunded, 0) // paid


async def refund_invoice(session: AsyncSession, invoice: Invoice, amount_refunded: int) -> int:
    """``charge.refunded`` for an invoice: record the cumulative refund, claw back its share."""
    invoice.amount_refunded = max(invoice.amount_refunded, amount_refunded)
    if not invoice.stars_granted or not invoice.amount_refunded:
        return 0
    target = refund_target(invoice.stars_granted, invoice.amount_paid, invoice.amount_refunded)
    key = f"allowance_refund:{invoice.stripe_invoice_id}:{target}"
    taken = await claw_back_grant(session, _source(invoice), target=target, key=key)
    log.info("allowance_clawed_back", invoice_id=invoice.stripe_invoice_id, stars=taken, reason="refund")
    return taken


async def dispute_invoice(
    session: AsyncSession, invoice: Invoice, event_type: str, dispute: dict[str, Any]
) -> str:
    """``charge.dispute.created|closed`` for an invoice: take the grant back, give it back if won."""
    status = str(dispute.get("status") or "")
    if event_type == "charge.dispute.created" or status == "lost":
        invoice.disputed = True
        if invoice.stars_granted:
            await claw_back_grant(
                session, _source(invoice), target=invoice.stars_granted, key=_dispute_key(invoice)
            )
        return "processed"
    if status in _WON:
        invoice.disputed = False
        taken = await session.scalar(
            select(WalletTransaction.amount).where(WalletTransaction.idempotency_key == _dispute_key(invoice))
        )
        if taken:
            await restore_grant(
                session, _source(invoice), amount=-int(taken), key=f"{_dispute_key(invoice)}:won"
            )
        return "processed"
    return "ignored"


async def claw_back_after_grant(session: AsyncSession, invoice: Invoice) -> None:
    """Apply a refund or an open dispute that arrived before the invoice's allowance was granted."""
    if invoice.disputed:
        await claw_back_grant(
            session, _source(invoice), target=invoice.stars_granted, key=_dispute_key(invoice)
        )
    elif invoice.amount_refunded:
        await refund_invoice(session, invoice, invoice.amount_refunded)
