"""Booking deposits through Stripe: the PaymentIntent, its webhook (confirms exactly once), refunds.

The intent carries ``metadata.purpose = "ops_deposit"``; the platform's Stripe webhook hands
such events to :func:`on_deposit_event` (registered in the app's spec), inside the transaction
that records the event id, so a redelivered event does nothing. A second, distinct event for
the same intent (Stripe may send ``succeeded`` twice under different ids) is stopped by the
conditional update of ``confirmed_at``: only the first confirms the booking.

Refunds on cancellation follow the station's policy: the full deposit at least
``refund_full_days`` before the event, half at least ``refund_half_days`` before, else none.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

import stripe
import structlog
from sqlalchemy import CursorResult, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops.bookings import transition
from conjure.apps.ops.models import Booking, BookingStatus, DepositPayment, Station
from conjure.db import insert_ignore, utcnow
from conjure.errors import Conflict
from conjure.payments.service import PaymentNotRecorded, PaymentProviderError
from conjure.payments.stripe_client import StripeGateway

log = structlog.get_logger("conjure.apps.ops.deposits")

PURPOSE = "ops_deposit"


class DepositNotAllowed(Conflict):
    code = "deposit_not_allowed"


def _metadata(booking: Booking, payment_id: uuid.UUID) -> dict[str, str]:
    return {
        "purpose": PURPOSE,
        "ops_payment_id": str(payment_id),
        "booking_id": str(booking.id),
        "station_id": str(booking.station_id),
    }


async def existing_deposit(session: AsyncSession, booking: Booking) -> DepositPayment | None:
    stmt = select(DepositPayment).where(DepositPayment.booking_id == booking.id)
    return (
        await session.execute(stmt.order_by(DepositPayment.created_at.desc()).limit(1))
    ).scalar_one_or_none()


def check_can_pay(booking: Booking, current: DepositPayment | None) -> None:
    if booking.status != BookingStatus.PENDING:
        raise DepositNotAllowed(f"A {booking.status} booking takes no deposit.")
    if current is not None and current.status == "succeeded":
        raise DepositNotAllowed("The deposit is already paid.")


async def create_intent(gateway: StripeGateway, station: Station, booking: Booking) -> tuple[uuid.UUID, Any]:
    """Ask Stripe for the deposit's PaymentIntent (the same one again for the same booking)."""
    payment_id = uuid.uuid5(uuid.NAMESPACE_URL, f"ops-deposit:{booking.id}")
    try:
        intent = await gateway.client.v1.payment_intents.create_async(
            params={
                "amount": station.deposit_amount,
                "currency": station.currency,
                "metadata": _metadata(booking, payment_id),
            },
            options={"idempotency_key": f"ops-deposit-{booking.id}"},
        )
    except stripe.StripeError as exc:
        log.warning("stripe_deposit_failed", error_type=type(exc).__name__, request_id=exc.request_id)
        raise PaymentProviderError("The payment provider could not create the deposit; try again.") from None
    return payment_id, intent


async def record_deposit(
    session: AsyncSession, payment_id: uuid.UUID, booking: Booking, intent_id: str, amount: int, currency: str
) -> DepositPayment:
    """Store the deposit ``pending``; a no-op if its webhook got here first."""
    table = cast(Table, DepositPayment.__table__)
    await insert_ignore(
        session,
        table,
        {
            "id": payment_id,
            "station_id": booking.station_id,
            "booking_id": booking.id,
            "stripe_payment_intent_id": intent_id,
            "amount": amount,
            "currency": currency,
            "status": "pending",
            "amount_refunded": 0,
            "created_at": utcnow(),
        },
    )
    stmt = select(DepositPayment).where(DepositPayment.stripe_payment_intent_id == intent_id)
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()


async def _deposit_for(session: AsyncSession, obj: dict[str, Any]) -> DepositPayment:
    intent_id = str(obj.get("id") or obj.get("payment_intent") or "")
    stmt = select(DepositPayment).where(DepositPayment.stripe_payment_intent_id == intent_id)
    stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is not None:
        return found
    meta = obj.get("metadata") or {}
    try:
        booking = await session.get(Booking, uuid.UUID(meta["booking_id"]))
        payment_id = uuid.UUID(meta["ops_payment_id"])
    except (KeyError, ValueError):
        booking = None
    if booking is None or not intent_id.startswith("pi_"):
        raise PaymentNotRecorded(f"No deposit is recorded for {intent_id} yet.")
    # The webhook beat the route's insert: rebuild the row from what Stripe says was charged.
    amount, currency = int(obj.get("amount") or 0), str(obj.get("currency") or "usd")
    return await record_deposit(session, payment_id, booking, intent_id, amount, currency)


async def on_deposit_event(session: AsyncSession, event_type: str, obj: dict[str, Any]) -> str:
    """Apply one verified Stripe event about a deposit; ``processed`` or ``ignored``."""
    deposit = await _deposit_for(session, obj)
    if event_type == "payment_intent.succeeded":
        confirm = (
            update(DepositPayment)
            .where(DepositPayment.id == deposit.id, DepositPayment.confirmed_at.is_(None))
            .values(confirmed_at=utcnow(), status="succeeded")
        )
        if cast(CursorResult[Any], await session.execute(confirm)).rowcount != 1:
            return "ignored"  # confirmed before, by another event for the same intent
        booking = await session.get(Booking, deposit.booking_id, with_for_update=True, populate_existing=True)
        if booking is not None and booking.status == BookingStatus.PENDING:
            await transition(
                session, booking, BookingStatus.CONFIRMED, actor="stripe", user_id=None, note="deposit paid"
            )
        return "processed"
    if event_type == "charge.refunded":
        deposit.amount_refunded = max(deposit.amount_refunded, int(obj.get("amount_refunded") or 0))
        deposit.refund_status = "succeeded"
        return "processed"
    if deposit.status != "succeeded":
        deposit.status = "failed" if event_type == "payment_intent.payment_failed" else "canceled"
        return "processed"
    return "ignored"


def refund_due(
    station: Station, booking: Booking, deposit: DepositPayment | None, now: dt.datetime, zone: dt.tzinfo
) -> int:
    """How much of the paid deposit the policy gives back if the booking is cancelled at ``now``.

    The days before the event are counted on the station's calendar (``zone``: OPS_TIMEZONE, the
    wall clock the booking's date is in), not UTC's: late in a Los Angeles evening UTC is already
    on the next day, and one day's notice too few could halve a refund the policy gives in full.
    """
    if deposit is None or deposit.status != "succeeded":
        return 0
    days_ahead = (booking.booking_date - now.astimezone(zone).date()).days
    if days_ahead >= station.refund_full_days:
        share = 1.0
    elif days_ahead >= station.refund_half_days:
        share = 0.5
    else:
        share = 0.0
    return max(0, int(deposit.amount * share) - deposit.amount_refunded)


async def send_refund(gateway: StripeGateway, deposit: DepositPayment, amount: int) -> str | None:
    """Ask Stripe for the refund (idempotent per deposit); its id, or None if Stripe failed."""
    try:
        refund = await gateway.client.v1.refunds.create_async(
            params={"payment_intent": deposit.stripe_payment_intent_id, "amount": amount},
            options={"idempotency_key": f"ops-refund-{deposit.id}"},
        )
    except stripe.StripeError as exc:
        log.warning("stripe_refund_failed", error_type=type(exc).__name__, request_id=exc.request_id)
        return None
    return str(refund.id)


async def record_refund(
    session: AsyncSession, deposit_id: uuid.UUID, amount: int, refund_id: str | None
) -> str:
    deposit = await session.get(DepositPayment, deposit_id, with_for_update=True, populate_existing=True)
    assert deposit is not None
    if refund_id is None:
        deposit.refund_status = "failed"
    else:
        deposit.refund_status = "succeeded"
        deposit.stripe_refund_id = refund_id
        deposit.amount_refunded = deposit.amount_refunded + amount
    return deposit.refund_status
