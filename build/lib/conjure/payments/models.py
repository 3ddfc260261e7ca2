"""Payments tables: Stripe payments for star packages (seed 000) and processed webhook events (seed 001)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from conjure.db import Base, UTCDateTime, new_id, utcnow


class PaymentStatus(enum.StrEnum):
    """Where a payment stands; ``failed`` is not final (the customer may retry the same intent)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    # A chargeback (conjure.payments.disputes): the stars are taken back while it is open.
    DISPUTED = "disputed"
    DISPUTE_WON = "dispute_won"  # the stars were given back
    DISPUTE_LOST = "dispute_lost"  # the money went back to the customer; so did the stars


class Payment(Base):
    """One purchase of a star package through one Stripe PaymentIntent.

    The amounts and stars are copied from the package when the intent is created and
    are the only source for crediting: a later change of the package never changes
    what this payment is worth. ``credited_at`` is set exactly once, by the
    conditional update that credits the stars.
    """

    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    stripe_payment_intent_id: Mapped[str] = mapped_column(String(255), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # smallest currency unit (satang)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32), default=PaymentStatus.PENDING)
    package_type: Mapped[str] = mapped_column(String(32))
    stars_purchased: Mapped[int] = mapped_column(Integer)
    stars_bonus: Mapped[int] = mapped_column(Integer, default=0)
    credited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    stars_clawed_back: Mapped[int] = mapped_column(Integer, default=0)
    # Set when a clawback drove the balance negative or Stripe disagreed with the stored amount.
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def total_stars(self) -> int:
        return self.stars_purchased + self.stars_bonus


class ProcessedEvent(Base):
    """A webhook event already handled (seed 001 ``processed_events``): the key to answering duplicates."""

    __tablename__ = "processed_events"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
