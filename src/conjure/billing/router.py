"""HTTP routes of billing: plans, subscribe, subscription status, portal, cancel/resume, invoices."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.auth.deps import CurrentUser
from conjure.billing import service
from conjure.billing.gateway import BillingGateway
from conjure.billing.plans import find_plan, paid_plan
from conjure.billing.schemas import (
    InvoiceOut,
    InvoicesOut,
    PlanOut,
    PortalOut,
    SubscribeIn,
    SubscribeOut,
    SubscriptionOut,
)
from conjure.billing.sync import apply_subscription, customer_id_for, record_customer
from conjure.db import utcnow
from conjure.deps import RuntimeDep, SessionDep, SettingsDep
from conjure.kit.paging import PageDep
from conjure.kit.problems import problems
from conjure.payments.stripe_client import gateway_for
from conjure.ratelimit.deps import rate_limit
from conjure.ratelimit.policy import on_outage
from conjure.ratelimit.service import Outage
from conjure.runtime import Runtime
from conjure.settings import Settings

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])

_STRIPE = {
    502: "Stripe refused or failed (`payment_provider_error`)",
    503: "Stripe is not configured (`payments_not_configured`), or rate limits cannot be checked",
}
_LIMITED: dict[str, Any] = {
    # Each call creates Stripe objects: never unlimited, even while Redis is down.
    "dependencies": [Depends(rate_limit("payment", "rate_limit_payment"))],
    "openapi_extra": on_outage(Outage.CLOSED),
}


async def _end_read_transaction(session: AsyncSession) -> None:
    # Never hold a transaction across a call to Stripe (SQLite's write lock, an idle PostgreSQL
    # connection); nothing is written yet, and the next statement starts a fresh transaction.
    await session.commit()


def _billing(runtime: Runtime) -> BillingGateway:
    return BillingGateway(gateway_for(runtime))


def _return_url(settings: Settings) -> str:
    return settings.billing_return_url or settings.public_base_url.rstrip("/") + "/billing"


@router.get("/plans", response_model=list[PlanOut])
async def list_plans(settings: SettingsDep) -> list[PlanOut]:
    """The plans (the free tier first), with their monthly allowance and the limits they raise."""
    return [PlanOut.of(plan) for plan in settings.subscription_plans]


@router.get("/subscription", response_model=SubscriptionOut, responses=problems(401))
async def get_subscription(user: CurrentUser, session: SessionDep, settings: SettingsDep) -> SubscriptionOut:
    """The caller's plan now: status, current period, cancel at period end, allowance left, limits."""
    return await service.subscription_view(session, settings, user.id)


async def _customer(
    session: AsyncSession, billing: BillingGateway, user_id: uuid.UUID, email: str | None
) -> str:
    """The user's one Stripe customer: created once (the user id is the idempotency key), then reused."""
    found = await customer_id_for(session, user_id)
    if found is not None:
        return found
    await _end_read_transaction(session)
    created = await billing.create_customer(
        email=email, user_id=str(user_id), idempotency_key=f"conjure-customer-{user_id}"
    )
    stored = await record_customer(session, user_id, created)
    await session.commit()
    return stored


@router.post(
    "/subscribe",
    response_model=SubscribeOut,
    responses=problems(
        401,
        409,
        422,
        429,
        502,
        503,
        describe={
            409: "Already on this plan (`already_subscribed`)",
            422: "Unknown plan (`unknown_plan`)",
            **_STRIPE,
        },
    ),
    **_LIMITED,
)
async def subscribe(
    body: SubscribeIn,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> SubscribeOut:
    """Subscribe to a plan (Checkout page or Elements), or change the live subscription's plan."""
    settings = runtime.settings
    billing = _billing(runtime)
    plan = paid_plan(settings, body.plan)
    price = str(plan.stripe_price_id)
    user_id, email = user.id, user.email
    live = await service.live_subscription(session, user_id)
    if live is not None:
        if live.plan_id == plan.id:
            raise service.AlreadySubscribed(f"You are already subscribed to {plan.name}.")
        sub_id = live.stripe_subscription_id
        return await _change_plan(session, runtime, billing, sub_id, live.plan_id, plan.id)
    customer = await _customer(session, billing, user_id, email)
    await _end_read_transaction(session)
    metadata = {"user_id": str(user_id), "plan": plan.id}
    attempt = idempotency_key or uuid.uuid4().hex
    if body.flow == "elements":
        read_at = utcnow()
        sub = await billing.create_subscription(
            customer=customer,
            price_id=price,
            metadata=metadata,
            idempotency_key=f"conjure-subscription-{user_id}-{plan.id}-{attempt}",
        )
        await apply_subscription(session, settings, sub, read_at=read_at, announcer=runtime.announcer)
        return SubscribeOut(
            flow="elements", plan=plan.id, client_secret=sub.client_secret, subscription_id=sub.id
        )
    back = _return_url(settings)
    session_id, url = await billing.create_checkout_session(
        customer=customer,
        price_id=price,
        metadata=metadata,
        success_url=f"{back}?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{back}?checkout=canceled",
        idempotency_key=f"conjure-checkout-{user_id}-{plan.id}-{attempt}",
    )
    return SubscribeOut(flow="checkout", plan=plan.id, url=url, checkout_session_id=session_id)


async def _change_plan(
    session: AsyncSession, runtime: Runtime, billing: BillingGateway, sub_id: str, current: str, new: str
) -> SubscribeOut:
    """Switch the price: an upgrade is invoiced pro rata now (and granted when paid); a downgrade
    is not prorated, so the lower price and allowance start at the renewal."""
    settings = runtime.settings
    plan = paid_plan(settings, new)
    upgrade = service.is_upgrade(find_plan(settings, current), plan)
    await _end_read_transaction(session)
    at_stripe = await billing.retrieve_subscription(sub_id)
    read_at = utcnow()
    updated = await billing.update_subscription(
        sub_id,
        {
            "items": [{"id": at_stripe.item_id, "price": plan.stripe_price_id}],
            "proration_behavior": "always_invoice" if upgrade else "none",
            "cancel_at_period_end": False,
        },
    )
    await apply_subscription(session, settings, updated, read_at=read_at, announcer=runtime.announcer)
    return SubscribeOut(
        flow="change", plan=plan.id, subscription_id=sub_id, change="upgrade" if upgrade else "downgrade"
    )


async def _set_cancel(
    session: AsyncSession, runtime: Runtime, user_id: uuid.UUID, cancel: bool
) -> SubscriptionOut:
    billing = _billing(runtime)
    sub = await service.require_live(session, user_id)
    sub_id = sub.stripe_subscription_id
    await _end_read_transaction(session)
    read_at = utcnow()
    updated = await billing.update_subscription(sub_id, {"cancel_at_period_end": cancel})
    await apply_subscription(session, runtime.settings, updated, read_at=read_at, announcer=runtime.announcer)
    return await service.subscription_view(session, runtime.settings, user_id)


@router.post(
    "/cancel",
    response_model=SubscriptionOut,
    responses=problems(
        401, 404, 429, 502, 503, describe={404: "No live subscription (`no_subscription`)", **_STRIPE}
    ),
    **_LIMITED,
)
async def cancel(user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> SubscriptionOut:
    """Cancel at the end of the current period (the plan and its allowance last until then)."""
    return await _set_cancel(session, runtime, user.id, True)


@router.post(
    "/resume",
    response_model=SubscriptionOut,
    responses=problems(
        401, 404, 429, 502, 503, describe={404: "No live subscription (`no_subscription`)", **_STRIPE}
    ),
    **_LIMITED,
)
async def resume(user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> SubscriptionOut:
    """Undo a cancel at period end: the subscription renews again."""
    return await _set_cancel(session, runtime, user.id, False)


@router.post(
    "/portal",
    response_model=PortalOut,
    responses=problems(
        401, 404, 429, 502, 503, describe={404: "Never subscribed (`no_billing_account`)", **_STRIPE}
    ),
    **_LIMITED,
)
async def portal(user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> PortalOut:
    """A Stripe customer portal link: payment methods, invoices, cancel."""
    billing = _billing(runtime)
    customer = await customer_id_for(session, user.id)
    if customer is None:
        raise service.NoBillingAccount("You have no billing account yet; subscribe to a plan first.")
    await _end_read_transaction(session)
    return PortalOut(
        url=await billing.create_portal_session(customer=customer, return_url=_return_url(runtime.settings))
    )


@router.get("/invoices", response_model=InvoicesOut, responses=problems(401, 422))
async def invoices(user: CurrentUser, session: SessionDep, page: PageDep) -> InvoicesOut:
    """The caller's invoices, newest first (hosted page and PDF links from Stripe)."""
    rows, total = await service.list_invoices(session, user.id, limit=page.limit, offset=page.offset)
    return InvoicesOut(
        items=[InvoiceOut.of(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )
