"""HTTP routes of the payments domain: packages, intents, confirm, history and Stripe's webhook."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.auth.deps import AdminUser, CurrentUser
from conjure.deps import RuntimeDep, SessionDep, SettingsDep
from conjure.kit.paging import PageDep
from conjure.kit.problems import problems
from conjure.payments import service
from conjure.payments.purposes import purposes_of
from conjure.payments.schemas import (
    AdminPaymentOut,
    AdminPaymentsOut,
    ConfirmIn,
    CreateIntentIn,
    CreateIntentOut,
    PackageOut,
    PaymentHistoryOut,
    PaymentOut,
    WebhookAck,
)
from conjure.payments.stripe_client import gateway_for, verify_event
from conjure.payments.webhooks import handle_stripe_event
from conjure.ratelimit.deps import limit_new_requests
from conjure.ratelimit.policy import on_outage
from conjure.ratelimit.service import Outage

router = APIRouter(tags=["payments"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_PURCHASE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in", **_PROBLEM},
    502: {"description": "Stripe refused or failed (`payment_provider_error`)", **_PROBLEM},
    503: {"description": "Stripe is not configured (`payments_not_configured`)", **_PROBLEM},
}


async def _intent_replayed(session: AsyncSession, request: Request, user_id: uuid.UUID, key: str) -> bool:
    """A create-intent retried with its Idempotency-Key and package (read from the body as sent:
    a body the route will refuse is no replay, so it counts)."""
    try:
        body = await request.json()
    except ValueError:
        return False
    package = body.get("package") if isinstance(body, dict) else None
    return isinstance(package, str) and await service.is_replay(session, user_id, package, key)


async def _end_read_transaction(session: AsyncSession) -> None:
    # Never hold a transaction across a call to Stripe: on SQLite it would be the
    # database-wide write lock, on PostgreSQL an idle-in-transaction connection.
    # Nothing has been written yet; the next statement starts a fresh transaction.
    await session.commit()


@router.get("/api/v1/payment/packages", response_model=list[PackageOut])
async def list_packages(settings: SettingsDep) -> list[PackageOut]:
    """The star packages for sale (listed even when Stripe is not configured)."""
    return [PackageOut.of(p, service.CURRENCY) for p in settings.star_packages]


@router.post(
    "/api/v1/payment/create-intent",
    response_model=CreateIntentOut,
    responses={
        **_PURCHASE_ERRORS,
        422: {"description": "Unknown package", **_PROBLEM},
        429: {
            "description": "Too many purchases started (`RATE_LIMIT_PAYMENT`; a retry with its "
            "`Idempotency-Key` is not counted)",
            **_PROBLEM,
        },
        503: {"description": "Stripe not configured, or rate limits cannot be checked", **_PROBLEM},
    },
    # A retry with its Idempotency-Key gets the same intent back and is not counted.
    dependencies=[Depends(limit_new_requests("payment", "rate_limit_payment", _intent_replayed))],
    # Each new call creates a Stripe PaymentIntent: never unlimited, even while Redis is down.
    openapi_extra=on_outage(Outage.CLOSED),
)
async def create_intent(
    body: CreateIntentIn,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> CreateIntentOut:
    """Start buying a package: a Stripe PaymentIntent and a pending payment."""
    gateway = gateway_for(runtime)
    package = service.find_package(runtime.settings, body.package)
    user_id = user.id
    payment_id = service.new_payment_id(user_id, package.id, idempotency_key)
    await _end_read_transaction(session)
    intent = await gateway.create_intent(
        amount=package.price,
        currency=service.CURRENCY,
        metadata=service.intent_metadata(payment_id, user_id, package.id),
        idempotency_key=service.stripe_idempotency_key(payment_id),
    )
    payment = await service.record_pending(
        session, payment_id=payment_id, user_id=user_id, package=package, intent_id=intent.id
    )
    return CreateIntentOut(
        client_secret=intent.client_secret or "",
        payment_intent_id=intent.id,
        payment_id=payment.id,
        amount=payment.amount,
        currency=payment.currency,
        package=payment.package_type,
        stars=payment.stars_purchased,
        bonus_stars=payment.stars_bonus,
    )


@router.post(
    "/api/v1/payment/confirm",
    response_model=PaymentOut,
    responses={**_PURCHASE_ERRORS, 404: {"description": "No such payment of yours", **_PROBLEM}},
)
async def confirm(body: ConfirmIn, user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> PaymentOut:
    """Check the intent with Stripe and credit the stars if it succeeded (safe to repeat)."""
    gateway = gateway_for(runtime)
    await service.get_own_payment(session, user.id, body.payment_intent_id)
    await _end_read_transaction(session)
    intent = await gateway.retrieve_intent(body.payment_intent_id)
    payment = await service.settle_intent(session, runtime.settings, intent)
    if payment is None:  # pragma: no cover - the row was seen above and payments are never deleted
        payment = await service.get_own_payment(session, user.id, body.payment_intent_id)
    return PaymentOut.of(payment)


@router.get("/api/v1/payment/history", response_model=PaymentHistoryOut, responses=problems(401, 422))
async def history(user: CurrentUser, session: SessionDep, page: PageDep) -> PaymentHistoryOut:
    """The caller's payments, newest first."""
    payments, total = await service.list_payments(session, user.id, limit=page.limit, offset=page.offset)
    return PaymentHistoryOut(
        items=[PaymentOut.of(p) for p in payments], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/api/v1/admin/payments", response_model=AdminPaymentsOut, responses=problems(401, 403, 422))
async def payments_needing_attention(_: AdminUser, session: SessionDep, page: PageDep) -> AdminPaymentsOut:
    """Payments an operator should look at: disputed (open, won or lost) or flagged, newest first."""
    payments, total = await service.list_needing_attention(session, limit=page.limit, offset=page.offset)
    return AdminPaymentsOut(
        items=[AdminPaymentOut.of(p) for p in payments], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/webhooks/stripe",
    response_model=WebhookAck,
    responses={
        400: {"description": "Bad or stale Stripe-Signature (`invalid_signature`)", **_PROBLEM},
        503: {"description": "Webhook secret not configured, or payment not recorded yet", **_PROBLEM},
    },
)
async def stripe_webhook(request: Request, session: SessionDep, runtime: RuntimeDep) -> WebhookAck:
    """Stripe's events: verified first, recorded once, applied in the same transaction (billing
    events: queued in it, applied by a job; an app's own intents: by that app's handler)."""
    payload = await request.body()
    event = verify_event(runtime.settings, payload, request.headers.get("stripe-signature"))
    purposes = purposes_of(runtime.apps)
    return WebhookAck(status=await handle_stripe_event(session, runtime, event, purposes))
