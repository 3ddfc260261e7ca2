"""The ops tables: stations and members, customers (PII encrypted), bookings, deposits, leads,
reviews, the inbox with AI drafts, and the AI usage, audit and alert rows.

Every row carries ``station_id``: a station is the tenant, and every query filters by it.
Columns ending in ``_enc`` hold AES-GCM ciphertext (:mod:`conjure.apps.ops.crypto`); the
matching ``_hash`` columns hold a keyed hash for exact lookups without decrypting, and
``ops_customer_name_tokens`` the keyed tokens a name part is searched by (:mod:`conjure.apps.ops.names`).
Message text (messages, drafts, leads' messages) is sealed the same way (:mod:`conjure.apps.ops.texts`):
its plain column only holds text stored before 0026 until the backfill seals it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column

from conjure.db import Base, JSONType, UTCDateTime, new_id, utcnow


def _unsealed(table: str, pending: str) -> Index:
    """A partial index of the rows whose text is not sealed yet (``pending``): the backfill finds
    them without a scan, and it is empty once they are all sealed (``texts.seal_pending_texts``)."""
    where = sql(pending)
    return Index(f"ix_{table}_unsealed", "id", postgresql_where=where, sqlite_where=where)


class Role:
    """Station roles, lowest first; a route names the least it needs."""

    VIEWER = "viewer"
    STAFF = "staff"
    MANAGER = "manager"
    OWNER = "owner"
    RANK: ClassVar[dict[str, int]] = {VIEWER: 0, STAFF: 1, MANAGER: 2, OWNER: 3}


class Station(Base):
    """A tenant: one catering station with its capacity, deposit policy and AI controls."""

    __tablename__ = "ops_stations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    # Bookings per (date, time) slot; each chef team serves one event at a time.
    capacity_per_slot: Mapped[int] = mapped_column(Integer, default=2)
    deposit_amount: Mapped[int] = mapped_column(Integer, default=10_000)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    # Refund on cancellation: full at least this many days ahead, half at least ``half``, else none.
    refund_full_days: Mapped[int] = mapped_column(Integer, default=7)
    refund_half_days: Mapped[int] = mapped_column(Integer, default=2)
    # AI escalation: Level 1 only if opted in and confident enough; below ``level2`` → Level 3.
    ai_auto_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    ai_level1_confidence: Mapped[float] = mapped_column(Float, default=0.85)
    ai_level2_confidence: Mapped[float] = mapped_column(Float, default=0.6)
    ai_monthly_budget_usd: Mapped[float] = mapped_column(Float, default=50.0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Member(Base):
    """A user's role in one station."""

    __tablename__ = "ops_members"
    __table_args__ = (UniqueConstraint("station_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_stations.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StationChannel(Base):
    """Which station an inbound address belongs to (our SMS number, WhatsApp phone id, Google location)."""

    __tablename__ = "ops_station_channels"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(128), primary_key=True)
    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ops_stations.id", ondelete="CASCADE"), index=True
    )


class Customer(Base):
    """A station's customer; PII encrypted, looked up by keyed hash; ``erased_at`` after erasure."""

    __tablename__ = "ops_customers"
    __table_args__ = (
        Index("ix_ops_customers_station_id_email_hash", "station_id", "email_hash"),
        Index("ix_ops_customers_station_id_phone_hash", "station_id", "phone_hash"),
        # A search's ids within the station: ``station_id = ? AND id IN (…)`` seeks each id (SQLite
        # would otherwise walk the station by another index and test every row).
        Index("ix_ops_customers_station_id_id", "station_id", "id"),
        # Finds the names still to index, per station (a search) and in all (the backfill).
        Index("ix_ops_customers_name_indexed_station_id", "name_indexed", "station_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_stations.id", ondelete="CASCADE"))
    name_enc: Mapped[str | None] = mapped_column(Text)
    email_enc: Mapped[str | None] = mapped_column(Text)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    email_hash: Mapped[str | None] = mapped_column(String(64))
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    marketing_email: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    # The name's search tokens are written (``names.write_tokens``). False for a name stored before
    # the index existed: the scheduler's backfill indexes it, and until then a search decrypts it.
    name_indexed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerNameToken(Base):
    """One entry of the name search's blind index: the keyed token of a piece of a customer's name.

    The key (station, token, customer) serves the search; ``customer_id`` alone, a rename or erasure.
    """

    __tablename__ = "ops_customer_name_tokens"

    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ops_stations.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ops_customers.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CustomerKey(Base):
    """A customer's key material: with the station's PII key it makes the key their audit texts are
    sealed with (:mod:`conjure.apps.ops.customer_keys`); erasure deletes it, and those texts with it."""

    __tablename__ = "ops_customer_keys"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ops_customers.id", ondelete="CASCADE"), primary_key=True
    )
    material: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BookingStatus:
    """``pending → confirmed → completed | cancelled | no_show`` (pending may be cancelled too)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    NEXT: ClassVar[dict[str, set[str]]] = {
        PENDING: {CONFIRMED, CANCELLED},
        CONFIRMED: {COMPLETED, CANCELLED, NO_SHOW},
    }
    # A slot is taken while the booking is one of these.
    HOLDS_SLOT: ClassVar[frozenset[str]] = frozenset({PENDING, CONFIRMED, COMPLETED, NO_SHOW})


class Booking(Base):
    """An event booked at a station; ``address_enc`` is PII, ``notes_enc`` its sealed notes
    (:mod:`conjure.apps.ops.texts`; ``notes`` only for rows from before 0026, until sealed)."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_station_id_booking_date", "station_id", "booking_date"),
        _unsealed("bookings", "notes IS NOT NULL"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_stations.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ops_customers.id", ondelete="CASCADE"), index=True
    )
    booking_date: Mapped[dt.date] = mapped_column(Date)
    booking_time: Mapped[str] = mapped_column(String(5))  # HH:MM, the slot
    guests: Mapped[int] = mapped_column(Integer)
    address_enc: Mapped[str | None] = mapped_column(Text)
    package: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    notes_enc: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=BookingStatus.PENDING)
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlotUsage(Base):
    """How many bookings hold one (station, date, time) slot: the counter capacity is checked on."""

    __tablename__ = "ops_slot_usage"

    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ops_stations.id", ondelete="CASCADE"), primary_key=True
    )
    booking_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    booking_time: Mapped[str] = mapped_column(String(5), primary_key=True)
    booked: Mapped[int] = mapped_column(Integer, default=0)


class BookingEvent(Base):
    """One status transition of a booking: from, to, who (a member, ``stripe``, ``system``), when."""

    __tablename__ = "ops_booking_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_stations.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column()
    actor: Mapped[str] = mapped_column(String(32))  # "member", "stripe", "system"
    note: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DepositPayment(Base):
    """A booking's deposit: one Stripe PaymentIntent (the seed's ``payments`` row for bookings)."""

    __tablename__ = "ops_payments"
    __table_args__ = (
        Index(
            "ix_ops_payments_booking_id_stripe_payment_intent_id", "booking_id", "stripe_payment_intent_id"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_stations.id", ondelete="CASCADE"))
    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    stripe_payment_intent_id: Mapped[str] = mapped_column(String(255), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(24), default="pending")
    # Set once, by the conditional update that confirms the booking (exactly once).
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    amount_refunded: Mapped[int] = mapped_column(Integer, default=0)
    refund_status: Mapped[str | None] = mapped_column(String(24))
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeadStatus:
    """``new → contacted → qualified → won | lost`` (lost from any open state)."""

    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    WON = "won"
    LOST = "lost"
    NEXT: ClassVar[dict[str, set[str]]] = {
        NEW: {CONTACTED, QUALIFIED, LOST},
        CONTACTED: {QUALIFIED, LOST},
        QUALIFIED: {WON, LOST},
    }


class Lead(Base):
    """A prospective customer from the public form, the inbox or entered by hand."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_station_id_status", "station_id", "status"),
        Index("ix_leads_station_id_email_hash", "station_id", "email_hash"),
        _unsealed("leads", "message_enc IS NULL"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_stations.id", ondelete="CASCADE"))
    name_enc: Mapped[str | None] = mapped_column(Text)
    email_enc: Mapped[str | None] = mapped_column(Text)
    # Keyed hash of the normalized email (the form's repeat check); NULL for leads from before 0027.
    email_hash: Mapped[str | None] = mapped_column(String(64))
    phone_enc: Mapped[str | None] = mapped_column(Text)
    # Plain only for a lead stored before 0026 and not sealed yet; ``""`` once sealed.
    message: Mapped[str] = mapped_column(Text)
    message_enc: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # form, inbox, manual
    status: Mapped[str] = mapped_column(String(16), default=LeadStatus.NEW)
    score: Mapped[int | None] = mapped_column(Integer)
    reasons: Mapped[list[str] | None] = mapped_column(JSONType)
    next_step: Mapped[str | None] = mapped_column(String(500))
    qualified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ops_customers.id", ondelete="SET NULL"))
    booking_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Review(Base):
    """A review from Google (or entered by hand), with its AI reply draft and published reply."""

    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_station_id_rating", "station_id", "rating"),
        UniqueConstraint("station_id", "platform", "external_id"),
        _unsealed("reviews", "reply_draft IS NOT NULL"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_stations.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))  # google, yelp, manual
    external_id: Mapped[str | None] = mapped_column(String(255))
    reviewer_name: Mapped[str | None] = mapped_column(String(200))
    rating: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    # Reviews and published replies are public (on Google); the AI's draft is not yet: sealed
    # in ``reply_draft_enc``, plain only for a draft from before 0026 not sealed yet.
    reply_draft: Mapped[str | None] = mapped_column(Text)
    reply_draft_enc: Mapped[str | None] = mapped_column(Text)
    reply_text: Mapped[str | None] = mapped_column(Text)
    reply_status: Mapped[str] = mapped_column(String(16), default="none")  # none, drafted, published
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Thread(Base):
    """One conversation per customer across channels."""

    __tablename__ = "ops_threads"
    __table_args__ = (UniqueConstraint("station_id", "customer_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_stations.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_customers.id", ondelete="CASCADE"))
    assigned_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_message_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxMessage(Base):
    """One message in or out, with its classification and escalation level (inbound)."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        Index("ix_inbox_messages_station_id_is_read", "station_id", "is_read"),
        UniqueConstraint("channel", "provider_message_id"),
        # A reply sent again with its Idempotency-Key is the same reply (sent once).
        Index("uq_inbox_messages_thread_id_idempotency_key", "thread_id", "idempotency_key", unique=True),
        _unsealed("inbox_messages", "text_enc IS NULL"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_stations.id", ondelete="CASCADE"))
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_threads.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))  # in, out
    provider_message_id: Mapped[str] = mapped_column(String(255))
    # Plain only for a message stored before 0026 and not sealed yet; ``""`` once sealed.
    text: Mapped[str] = mapped_column(Text)
    text_enc: Mapped[str | None] = mapped_column(Text)
    is_read: Mapped[bool] = mapped_column(Boolean, default=False)
    intent: Mapped[str | None] = mapped_column(String(32))
    sentiment: Mapped[str | None] = mapped_column(String(16))
    sensitivity: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    level: Mapped[int | None] = mapped_column(Integer)
    triage: Mapped[str] = mapped_column(String(16), default="pending")  # pending, done
    sent_by: Mapped[uuid.UUID | None] = mapped_column()
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)


class Draft(Base):
    """An AI reply waiting for a member (Level 2), or sent by itself (Level 1): its life and deciders."""

    __tablename__ = "ops_drafts"
    __table_args__ = (
        Index("ix_ops_drafts_station_id_status", "station_id", "status"),
        _unsealed("ops_drafts", "text_enc IS NULL"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_stations.id", ondelete="CASCADE"))
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_threads.id", ondelete="CASCADE"))
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inbox_messages.id", ondelete="CASCADE"))
    # Plain only for a draft stored before 0026 and not sealed yet; ``""`` once sealed.
    text: Mapped[str] = mapped_column(Text)
    text_enc: Mapped[str | None] = mapped_column(Text)
    level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(
        String(16), default="pending"
    )  # pending, approved, rejected, auto_sent
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by: Mapped[uuid.UUID | None] = mapped_column()
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    audit_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AIUsage(Base):
    """A station's AI spend in one calendar month (UTC): the budget is checked against it."""

    __tablename__ = "ops_ai_usage"

    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ops_stations.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    alerted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One AI interaction or a member's decision on its output; append-only (database triggers)."""

    __tablename__ = "ops_ai_audit"
    __table_args__ = (Index("ix_ops_ai_audit_station_id_created_at", "station_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ops_stations.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(32))  # classify, draft_reply, qualify_lead, draft.approved, …
    actor: Mapped[str] = mapped_column(String(64))  # "system" or a user id
    input_ref: Mapped[str] = mapped_column(String(128))  # e.g. "inbox_message:<id>", never the text
    output: Mapped[object | None] = mapped_column(JSONType)
    provider: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(64))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    level: Mapped[int | None] = mapped_column(Integer)
    refers_to: Mapped[uuid.UUID | None] = mapped_column()  # the AI call a decision is about
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(Base):
    """Something a station's owners must see (AI budget exhausted)."""

    __tablename__ = "ops_alerts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    station_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ops_stations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
