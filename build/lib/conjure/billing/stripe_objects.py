"""Stripe subscriptions and invoices as plain values, read from their JSON (API version 2025+ shapes).

Since Stripe's 2025 API the billing period lives on the subscription *items* and an invoice
names its subscription under ``parent.subscription_details``; the older top-level fields are
read as a fallback so either shape works.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


def _time(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)


def _id(value: Any) -> str | None:
    """An expandable field: the id whether Stripe sent the id or the object."""
    if isinstance(value, dict):
        return str(value["id"]) if value.get("id") else None
    return str(value) if value else None


def _data(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [item for item in value.get("data") or [] if isinstance(item, dict)]
    return []


@dataclass(frozen=True)
class StripeSubscription:
    id: str
    customer: str
    status: str
    price_id: str | None
    item_id: str | None
    current_period_start: dt.datetime | None
    current_period_end: dt.datetime | None
    cancel_at_period_end: bool
    canceled_at: dt.datetime | None
    ended_at: dt.datetime | None
    latest_invoice: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    client_secret: str | None = None  # the first invoice's, when created default_incomplete

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> StripeSubscription:
        items = _data(obj.get("items"))
        item = items[0] if items else {}
        price = item.get("price") or {}
        latest = obj.get("latest_invoice")
        secret = None
        if isinstance(latest, dict):
            confirmation = latest.get("confirmation_secret") or {}
            intent = latest.get("payment_intent") or {}
            secret = confirmation.get("client_secret") or (
                intent.get("client_secret") if isinstance(intent, dict) else None
            )
        return cls(
            id=str(obj["id"]),
            customer=_id(obj.get("customer")) or "",
            status=str(obj.get("status") or "incomplete"),
            price_id=_id(price),
            item_id=_id(item),
            current_period_start=_time(item.get("current_period_start") or obj.get("current_period_start")),
            current_period_end=_time(item.get("current_period_end") or obj.get("current_period_end")),
            cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
            canceled_at=_time(obj.get("canceled_at")),
            ended_at=_time(obj.get("ended_at")),
            latest_invoice=_id(latest),
            metadata={str(k): str(v) for k, v in (obj.get("metadata") or {}).items()},
            client_secret=secret,
        )


@dataclass(frozen=True)
class InvoiceLine:
    amount: int
    price_id: str | None
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    proration: bool

    @classmethod
    def from_dict(cls, line: dict[str, Any]) -> InvoiceLine:
        pricing = (line.get("pricing") or {}).get("price_details") or {}
        parent = (line.get("parent") or {}).get("subscription_item_details") or {}
        period = line.get("period") or {}
        return cls(
            amount=int(line.get("amount") or 0),
            price_id=_id(pricing.get("price")) or _id(line.get("price")),
            period_start=_time(period.get("start")),
            period_end=_time(period.get("end")),
            proration=bool(parent.get("proration") or line.get("proration")),
        )


@dataclass(frozen=True)
class StripeInvoice:
    id: str
    customer: str
    subscription: str | None
    status: str
    billing_reason: str | None
    number: str | None
    amount_due: int
    amount_paid: int
    currency: str
    lines: list[InvoiceLine]
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    payment_intent: str | None
    created: dt.datetime | None

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> StripeInvoice:
        parent = (obj.get("parent") or {}).get("subscription_details") or {}
        intent = _id(obj.get("payment_intent"))
        for payment in _data(obj.get("payments")):
            intent = intent or _id((payment.get("payment") or {}).get("payment_intent"))
        return cls(
            id=str(obj["id"]),
            customer=_id(obj.get("customer")) or "",
            subscription=_id(parent.get("subscription")) or _id(obj.get("subscription")),
            status=str(obj.get("status") or "draft"),
            billing_reason=obj.get("billing_reason"),
            number=obj.get("number"),
            amount_due=int(obj.get("amount_due") or 0),
            amount_paid=int(obj.get("amount_paid") or 0),
            currency=str(obj.get("currency") or ""),
            lines=[InvoiceLine.from_dict(line) for line in _data(obj.get("lines"))],
            hosted_invoice_url=obj.get("hosted_invoice_url"),
            invoice_pdf=obj.get("invoice_pdf"),
            payment_intent=intent,
            created=_time(obj.get("created")),
        )

    @property
    def service_lines(self) -> list[InvoiceLine]:
        """The lines that bill a plan's service period (not one-off items)."""
        return [line for line in self.lines if line.price_id and line.period_end]

    @property
    def period_start(self) -> dt.datetime | None:
        starts = [line.period_start for line in self.service_lines if line.period_start]
        return min(starts) if starts else None

    @property
    def period_end(self) -> dt.datetime | None:
        ends = [line.period_end for line in self.service_lines if line.period_end]
        return max(ends) if ends else None
