"""Request and response bodies of the payments API."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from conjure.kit.paging import Page
from conjure.payments.models import Payment
from conjure.settings import StarPackage


class PackageOut(BaseModel):
    """A star package for sale; ``price`` is in the currency's smallest unit (satang for THB)."""

    id: str
    name: str
    price: int
    currency: str
    stars: int
    bonus_stars: int
    total_stars: int

    @classmethod
    def of(cls, package: StarPackage, currency: str) -> PackageOut:
        return cls(
            id=package.id,
            name=package.name,
            price=package.price,
            currency=currency,
            stars=package.stars,
            bonus_stars=package.bonus_stars,
            total_stars=package.stars + package.bonus_stars,
        )


class CreateIntentIn(BaseModel):
    package: str = Field(min_length=1, max_length=32, examples=["popular"])


class CreateIntentOut(BaseModel):
    """What Stripe Elements needs to collect the payment (seed 000's PaymentIntentResponse)."""

    client_secret: str
    payment_intent_id: str
    payment_id: uuid.UUID
    amount: int
    currency: str
    package: str
    stars: int
    bonus_stars: int


class ConfirmIn(BaseModel):
    payment_intent_id: str = Field(min_length=3, max_length=255, pattern=r"^pi_[A-Za-z0-9_]+$")


class PaymentOut(BaseModel):
    """One purchase as the buyer sees it; ``credited`` turns true once, when the stars land."""

    id: uuid.UUID
    payment_intent_id: str
    package: str
    amount: int
    currency: str
    status: str
    stars_purchased: int
    stars_bonus: int
    credited: bool
    amount_refunded: int
    stars_clawed_back: int
    error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, payment: Payment) -> PaymentOut:
        return cls(
            id=payment.id,
            payment_intent_id=payment.stripe_payment_intent_id,
            package=payment.package_type,
            amount=payment.amount,
            currency=payment.currency,
            status=payment.status,
            stars_purchased=payment.stars_purchased,
            stars_bonus=payment.stars_bonus,
            credited=payment.credited_at is not None,
            amount_refunded=payment.amount_refunded,
            stars_clawed_back=payment.stars_clawed_back,
            error=payment.last_error,
            created_at=payment.created_at,
            updated_at=payment.updated_at,
        )


class PaymentHistoryOut(Page[PaymentOut]):
    """A page of the caller's payments, newest first."""


class AdminPaymentOut(PaymentOut):
    """A payment as the operator sees it: whose, and whether it needs a look."""

    user_id: uuid.UUID
    flagged: bool

    @classmethod
    def of(cls, payment: Payment) -> AdminPaymentOut:
        return cls(**PaymentOut.of(payment).model_dump(), user_id=payment.user_id, flagged=payment.flagged)


class AdminPaymentsOut(Page[AdminPaymentOut]):
    """A page of payments an operator should look at."""


class WebhookAck(BaseModel):
    received: bool = True
    status: str


@dataclass(frozen=True)
class Intent:
    """The fields of a Stripe PaymentIntent that Conjure acts on."""

    id: str
    status: str
    amount: int
    currency: str
    client_secret: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    error_message: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Intent:
        """Read an intent from Stripe's JSON (API response or webhook ``data.object``)."""
        last_error = data.get("last_payment_error") or {}
        return cls(
            id=str(data["id"]),
            status=str(data.get("status") or ""),
            amount=int(data.get("amount") or 0),
            currency=str(data.get("currency") or "").lower(),
            client_secret=data.get("client_secret"),
            metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
            error_message=(last_error.get("message") if isinstance(last_error, dict) else None),
        )
