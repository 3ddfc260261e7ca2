"""Star purchases: packages, pending payments, and the one place that credits or claws back stars.

Exactly-once crediting, whatever order the confirm call and Stripe's webhooks arrive in
and however often: every path that learns "this intent succeeded" calls
:func:`settle_intent`, which

1. locks the payment row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serializes writers),
2. sets ``credited_at`` with a conditional update (``WHERE credited_at IS NULL``); only the
   caller whose update changed a row goes on to credit, and
3. credits through the wallet with the idempotency key ``payment:{id}`` (a second guard).

The stars credited are always the ones stored on the payment row when the intent was
created, never looked up by price.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.db import insert_ignore, utcnow
from conjure.errors import Conflict, ConjureError, NotFound, ServiceUnavailable
from conjure.observability.metrics import PAYMENT_CLAWBACKS, PAYMENTS_CREDITED
from conjure.payments.disputes import DISPUTE_STATES, claw_back_dispute
from conjure.payments.models import Payment, PaymentStatus
from conjure.payments.schemas import Intent
from conjure.settings import Settings, StarPackage
from conjure.users.models import User
from conjure.wallet.service import clawback_stars, credit

log = structlog.get_logger("conjure.payments")

CURRENCY = "thb"
_NAMESPACE = uuid.UUID("5b0f4c1e-3c57-4d3e-9d0a-7a1c2f6e8b90")
# How long Stripe keeps an idempotency key at least: within it a retried create-intent gets the
# same intent back; after it, the same key makes a new intent (and our row answers 409).
STRIPE_KEY_LIFETIME = dt.timedelta(hours=24)


_OPEN = (PaymentStatus.PENDING, PaymentStatus.FAILED)


class PaymentsNotConfigured(ServiceUnavailable):
    code = "payments_not_configured"


class PaymentProviderError(ConjureError):
    code, status = "payment_provider_error", 502


class UnknownPackage(ConjureError):
    code, status = "unknown_package", 422


class PaymentNotRecorded(ConjureError):
    """A webhook names a payment we cannot place yet; a 503 makes Stripe deliver it again later."""

    code, status = "payment_not_recorded", 503


# --- packages ------------------------------------------------------------------------------


def find_package(settings: Settings, package_id: str) -> StarPackage:
    """The package with this id, or 422 ``unknown_package`` listing the valid ones."""
    for package in settings.star_packages:
        if package.id == package_id:
            return package
    valid = ", ".join(p.id for p in settings.star_packages)
    raise UnknownPackage(f"Unknown package {package_id!r}; choose one of: {valid}.")


def new_payment_id(user_id: uuid.UUID, package_id: str, client_key: str | None) -> uuid.UUID:
    """A fresh id, or a stable one for a client's ``Idempotency-Key`` (so a retried request
    sends Stripe the same idempotency key and parameters and gets the same intent back)."""
    if not client_key:
        return uuid.uuid4()
    return uuid.uuid5(_NAMESPACE, f"{user_id}:{package_id}:{client_key}")


async def is_replay(session: AsyncSession, user_id: uuid.UUID, package_id: str, client_key: str) -> bool:
    """Whether a create-intent with this key and package repeats one of the user's that Stripe
    will still answer with the same intent (so it starts no new purchase)."""
    stmt = select(Payment.id).where(
        Payment.id == new_payment_id(user_id, package_id, client_key),
        Payment.user_id == user_id,
        Payment.created_at > utcnow() - STRIPE_KEY_LIFETIME,
    )
    return await session.scalar(stmt) is not None


def stripe_idempotency_key(payment_id: uuid.UUID) -> str:
    return f"conjure-payment-{payment_id}"


def intent_metadata(payment_id: uuid.UUID, user_id: uuid.UUID, package_id: str) -> dict[str, str]:
    """What we tell Stripe about the intent, so a webhook can find (or rebuild) the payment."""
    return {"payment_id": str(payment_id), "user_id": str(user_id), "package_id": package_id}


# --- recording -----------------------------------------------------------------------------


def _payment_values(
    payment_id: uuid.UUID, user_id: uuid.UUID, package: StarPackage, intent_id: str
) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": payment_id,
        "user_id": user_id,
        "stripe_payment_intent_id": intent_id,
        "amount": package.price,
        "currency": CURRENCY,
        "status": PaymentStatus.PENDING,
        "package_type": package.id,
        "stars_purchased": package.stars,
        "stars_bonus": package.bonus_stars,
        "amount_refunded": 0,
        "stars_clawed_back": 0,
        "flagged": False,
        "created_at": now,
        "updated_at": now,
    }


async def record_pending(
    session: AsyncSession,
    *,
    payment_id: uuid.UUID,
    user_id: uuid.UUID,
    package: StarPackage,
    intent_id: str,
) -> Payment:
    """Store the payment ``pending`` with the package's amounts; a no-op if a webhook got here first."""
    table = cast(Table, Payment.__table__)
    await insert_ignore(session, table, _payment_values(payment_id, user_id, package, intent_id))
    payment = await _lock_payment(session, Payment.id == payment_id)
    if payment is None or payment.stripe_payment_intent_id != intent_id:
        # Stripe forgets idempotency keys after 24 h: the same client key now made a new intent.
        raise Conflict(
            "This Idempotency-Key was already used for another payment.", code="idempotency_key_reused"
        )
    return payment


async def _rebuild_from_metadata(session: AsyncSession, settings: Settings, intent: Intent) -> Payment:
    """Create the payment row from the intent's metadata (the webhook beat our own insert)."""
    meta = intent.metadata
    try:
        payment_id, user_id = uuid.UUID(meta["payment_id"]), uuid.UUID(meta["user_id"])
        package = find_package(settings, meta["package_id"])
    except (KeyError, ValueError, UnknownPackage):
        log.error("payment_metadata_unusable", payment_intent_id=intent.id)
        raise PaymentNotRecorded(f"No payment is recorded for {intent.id} yet.") from None
    matches = (intent.amount, intent.currency) == (package.price, CURRENCY)
    if not matches or await session.get(User, user_id) is None:
        # The package changed since, or the user is gone: no guessing with money, retry/operator.
        log.error("payment_metadata_mismatch", payment_intent_id=intent.id, package_id=package.id)
        raise PaymentNotRecorded(f"No payment is recorded for {intent.id} yet.")
    table = cast(Table, Payment.__table__)
    await insert_ignore(session, table, _payment_values(payment_id, user_id, package, intent.id))
    payment = await _lock_payment(session, Payment.stripe_payment_intent_id == intent.id)
    if payment is None:
        raise PaymentNotRecorded(f"No payment is recorded for {intent.id} yet.")
    log.info("payment_rebuilt_from_metadata", payment_id=str(payment.id))
    return payment


async def _lock_payment(session: AsyncSession, *where: Any) -> Payment | None:
    stmt = select(Payment).where(*where).with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_payment_for_intent(session: AsyncSession, intent_id: str) -> Payment:
    """The payment of this intent, locked; 503 ``payment_not_recorded`` (Stripe retries) if none."""
    payment = await _lock_payment(session, Payment.stripe_payment_intent_id == intent_id)
    if payment is None:
        raise PaymentNotRecorded(f"No payment is recorded for {intent_id} yet.")
    return payment


# --- reads ---------------------------------------------------------------------------------


async def get_own_payment(session: AsyncSession, user_id: uuid.UUID, intent_id: str) -> Payment:
    """The caller's payment for this intent; another user's (or none) is 404."""
    stmt = select(Payment).where(Payment.stripe_payment_intent_id == intent_id, Payment.user_id == user_id)
    payment = (await session.execute(stmt)).scalar_one_or_none()
    if payment is None:
        raise NotFound("No such payment.")
    return payment


async def list_payments(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int = 20, offset: int = 0
) -> tuple[list[Payment], int]:
    """A page of the user's payments, newest first, and how many there are in all."""
    stmt = (
        select(Payment)
        .where(Payment.user_id == user_id)
        .order_by(Payment.created_at.desc(), Payment.id)
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Payment).where(Payment.user_id == user_id))
    return list((await session.execute(stmt)).scalars()), int(total or 0)


async def list_needing_attention(
    session: AsyncSession, *, limit: int = 50, offset: int = 0
) -> tuple[list[Payment], int]:
    """Payments an operator should look at (disputed, or flagged: overdrawn or mismatched), newest first."""
    where = or_(Payment.flagged.is_(True), Payment.status.in_(DISPUTE_STATES))
    stmt = select(Payment).where(where).order_by(Payment.updated_at.desc(), Payment.id)
    total = await session.scalar(select(func.count()).select_from(Payment).where(where))
    rows = await session.execute(stmt.limit(limit).offset(offset))
    return list(rows.scalars()), int(total or 0)


# --- state changes (confirm and webhooks) --------------------------------------------------


async def settle_intent(session: AsyncSession, settings: Settings, intent: Intent) -> Payment | None:
    """Bring the payment in line with the intent's state at Stripe; credits at most once."""
    if intent.status == "succeeded":
        return await settle_succeeded(session, settings, intent)
    if intent.status == "canceled":
        return await mark_canceled(session, intent)
    if intent.status == "requires_payment_method" and intent.error_message:
        return await mark_failed(session, intent)
    # Still in progress (processing, requires_action, …): nothing to record yet.
    return await _lock_payment(session, Payment.stripe_payment_intent_id == intent.id)


async def mark_failed(session: AsyncSession, intent: Intent) -> Payment | None:
    """``payment_intent.payment_failed``: record the failure unless the stars are already credited.

    Not final: the customer may pay the same intent again, and a later success still credits.
    """
    payment = await _lock_payment(session, Payment.stripe_payment_intent_id == intent.id)
    if payment is not None and payment.credited_at is None and payment.status in _OPEN:
        payment.status = PaymentStatus.FAILED
        payment.last_error = (intent.error_message or "The payment failed.")[:500]
    return payment


async def mark_canceled(session: AsyncSession, intent: Intent) -> Payment | None:
    """``payment_intent.canceled``: the intent can no longer be paid."""
    payment = await _lock_payment(session, Payment.stripe_payment_intent_id == intent.id)
    if payment is not None and payment.credited_at is None and payment.status in _OPEN:
        payment.status = PaymentStatus.CANCELED
    return payment


async def settle_succeeded(session: AsyncSession, settings: Settings, intent: Intent) -> Payment:
    payment = await _lock_payment(session, Payment.stripe_payment_intent_id == intent.id)
    if payment is None:
        payment = await _rebuild_from_metadata(session, settings, intent)
    if (intent.amount, intent.currency) != (payment.amount, payment.currency):
        payment.flagged = True
        payment.last_error = f"Stripe reports {intent.amount} {intent.currency}; not credited."
        log.error("payment_amount_mismatch", payment_id=str(payment.id), payment_intent_id=intent.id)
        return payment
    # A dispute delivered before the success keeps its status and takes effect right after the credit.
    disputed = payment.status if payment.status in DISPUTE_STATES else None
    claimed = await session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.credited_at.is_(None))
        .values(credited_at=utcnow(), status=PaymentStatus.SUCCEEDED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.refresh(payment)
    if cast(CursorResult[Any], claimed).rowcount != 1:
        return payment  # another delivery or the confirm call credited it
    credited = await credit(
        session,
        payment.user_id,
        amount=payment.total_stars,
        currency="star",
        tx_type="purchase",
        idempotency_key=f"payment:{payment.id}",
        payment_id=payment.id,
        metadata={
            "package": payment.package_type,
            "stars": payment.stars_purchased,
            "bonus_stars": payment.stars_bonus,
            "amount": payment.amount,
            "currency": payment.currency,
            "payment_intent_id": payment.stripe_payment_intent_id,
        },
    )
    if credited:
        PAYMENTS_CREDITED.labels(payment.package_type).inc()
        log.info("payment_credited", payment_id=str(payment.id), stars=payment.total_stars)
    if disputed is not None:
        payment.status = disputed
    if payment.amount_refunded:
        await _claw_back(session, payment)  # a refund arrived before the success
    if disputed in (PaymentStatus.DISPUTED, PaymentStatus.DISPUTE_LOST):
        await claw_back_dispute(session, payment)
    return payment


async def apply_refund(session: AsyncSession, intent_id: str, amount_refunded: int) -> Payment:
    """``charge.refunded``: record the cumulative refund and claw back its share of the stars."""
    payment = await lock_payment_for_intent(session, intent_id)
    if amount_refunded > payment.amount_refunded:
        payment.amount_refunded = min(amount_refunded, payment.amount)
    if payment.credited_at is not None:
        await _claw_back(session, payment)
    elif payment.amount_refunded:
        payment.status = _refund_status(payment)
    return payment


def _refund_status(payment: Payment) -> str:
    if payment.status in DISPUTE_STATES:
        return payment.status  # the dispute's state says more than the refund's
    if payment.amount_refunded >= payment.amount:
        return PaymentStatus.REFUNDED
    return PaymentStatus.PARTIALLY_REFUNDED


def clawback_target(total_stars: int, amount: int, amount_refunded: int) -> int:
    """Stars to have taken back once ``amount_refunded`` of ``amount`` is refunded.

    Computed from the cumulative refund (never per event), rounded down, and all of
    them at a full refund: partial refunds in any steps add up to the same total.
    """
    if amount_refunded >= amount:
        return total_stars
    return total_stars * max(amount_refunded, 0) // amount


async def _claw_back(session: AsyncSession, payment: Payment) -> None:
    """Take back the stars of the refunded share, once per refunded amount (may go negative)."""
    target = clawback_target(payment.total_stars, payment.amount, payment.amount_refunded)
    payment.status = _refund_status(payment)
    missing = target - payment.stars_clawed_back
    if missing <= 0:
        return
    await clawback_stars(
        session,
        payment.user_id,
        amount=missing,
        idempotency_key=f"payment:{payment.id}:refund:{target}",
        payment_id=payment.id,
    )
    payment.stars_clawed_back = target
    available = select(User.star_balance - User.stars_held).where(User.id == payment.user_id)
    balance = await session.scalar(available)
    if balance is not None and balance < 0:
        # The stars were already spent: the wallet row is flagged; flag the payment for follow-up.
        payment.flagged = True
        log.warning("payment_clawback_overdrawn", payment_id=str(payment.id), available=int(balance))
    PAYMENT_CLAWBACKS.inc()
    log.info("payment_clawed_back", payment_id=str(payment.id), stars=missing)
