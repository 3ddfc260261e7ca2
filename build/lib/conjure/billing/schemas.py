"""Request and response bodies of the billing API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from conjure.billing.models import Invoice
from conjure.kit.paging import Page
from conjure.settings import SubscriptionPlan


class PlanOut(BaseModel):
    """A plan: ``price`` in the currency's smallest unit; ``monthly_allowance`` stars per paid month."""

    id: str
    name: str
    interval: str
    price: int
    currency: str
    monthly_allowance: int
    limits: dict[str, Any]
    free: bool

    @classmethod
    def of(cls, plan: SubscriptionPlan) -> PlanOut:
        return cls(
            id=plan.id,
            name=plan.name,
            interval=plan.interval,
            price=plan.price,
            currency=plan.currency,
            monthly_allowance=plan.monthly_allowance,
            limits=dict(plan.limits),
            free=plan.stripe_price_id is None,
        )


class SubscribeIn(BaseModel):
    plan: str = Field(min_length=1, max_length=32, examples=["plus"])
    flow: Literal["checkout", "elements"] = Field(
        default="checkout",
        description="`checkout`: a Stripe Checkout page (returns its `url`); `elements`: a subscription "
        "waiting for its first payment (returns the `client_secret` for Stripe Elements).",
    )


class SubscribeOut(BaseModel):
    """Where the subscription stands after the call: a page to pay on, a secret to pay with, or changed."""

    flow: Literal["checkout", "elements", "change"]
    plan: str
    url: str | None = None
    checkout_session_id: str | None = None
    client_secret: str | None = None
    subscription_id: str | None = None
    change: Literal["upgrade", "downgrade"] | None = Field(
        default=None,
        description="A plan change: an upgrade is billed (and granted) now, pro rata; "
        "a downgrade takes effect at the renewal.",
    )


class AllowanceOut(BaseModel):
    """Stars left of the plan's allowance and when the first of them expire."""

    remaining: int
    next_expiry: dt.datetime | None


class SubscriptionOut(BaseModel):
    """The caller's plan now; ``status`` is ``none`` without a subscription."""

    plan: str
    plan_name: str
    status: str
    subscription_id: str | None = None
    next_plan: str | None = Field(
        default=None, description="The plan billed from the renewal on, if it differs."
    )
    current_period_start: dt.datetime | None = None
    current_period_end: dt.datetime | None = None
    cancel_at_period_end: bool = False
    grace_until: dt.datetime | None = Field(
        default=None, description="past_due: the plan is kept until then, then the free tier applies."
    )
    limits: dict[str, Any]
    allowance: AllowanceOut


class PortalOut(BaseModel):
    url: str


class InvoiceOut(BaseModel):
    """One invoice; amounts in the currency's smallest unit."""

    id: str
    number: str | None
    status: str
    plan: str | None
    amount_due: int
    amount_paid: int
    amount_refunded: int
    currency: str
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    stars_granted: int
    created_at: dt.datetime

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceOut:
        return cls(
            id=invoice.stripe_invoice_id,
            number=invoice.number,
            status=invoice.status,
            plan=invoice.plan_id,
            amount_due=invoice.amount_due,
            amount_paid=invoice.amount_paid,
            amount_refunded=invoice.amount_refunded,
            currency=invoice.currency,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            hosted_invoice_url=invoice.hosted_invoice_url,
            invoice_pdf=invoice.invoice_pdf,
            stars_granted=invoice.stars_granted,
            created_at=invoice.stripe_created or invoice.created_at,
        )


class InvoicesOut(Page[InvoiceOut]):
    """A page of the caller's invoices, newest first."""
