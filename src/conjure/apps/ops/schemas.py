"""Request and response bodies of the ops API (field names other clients rely on are the issue's)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

RoleName = Literal["owner", "manager", "staff", "viewer"]
Slug = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
Phone = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164, e.g. +14155550100")
# Free text a person typed: line breaks and tabs, no other control characters (PostgreSQL refuses
# NUL in text, and a pattern also refuses lone surrogates): stated in the schema, not only in code.
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Time = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, the slot's start")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- stations and members -------------------------------------------------------------------


class StationCreate(_In):
    name: str = Field(pattern=TEXT, min_length=1, max_length=120)
    slug: str = Slug
    owner_email: EmailStr = Field(description="The first owner; a signed-up user.")


class StationUpdate(_In):
    name: str | None = Field(pattern=TEXT, default=None, min_length=1, max_length=120)
    capacity_per_slot: int | None = Field(default=None, ge=1, le=100)
    deposit_amount: int | None = Field(default=None, ge=50, le=10_000_000)
    refund_full_days: int | None = Field(default=None, ge=0, le=365)
    refund_half_days: int | None = Field(default=None, ge=0, le=365)
    ai_auto_reply: bool | None = None
    ai_level1_confidence: float | None = Field(default=None, ge=0, le=1)
    ai_level2_confidence: float | None = Field(default=None, ge=0, le=1)
    ai_monthly_budget_usd: float | None = Field(default=None, ge=0, le=1_000_000)


class StationView(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    role: str | None = Field(default=None, description="The caller's role here.")
    capacity_per_slot: int
    deposit_amount: int
    currency: str
    refund_full_days: int
    refund_half_days: int
    ai_auto_reply: bool
    ai_level1_confidence: float
    ai_level2_confidence: float
    ai_monthly_budget_usd: float


class MemberCreate(_In):
    email: EmailStr
    role: RoleName


class MemberUpdate(_In):
    role: RoleName


class MemberView(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    email: str | None
    role: str


class ChannelCreate(_In):
    channel: Literal["sms", "whatsapp", "google"]
    address: str = Field(pattern=TEXT, min_length=1, max_length=128)


class ChannelView(BaseModel):
    channel: str
    address: str


# --- customers ------------------------------------------------------------------------------


class CustomerCreate(_In):
    name: str = Field(pattern=TEXT, min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Phone
    marketing_email: bool = False
    marketing_sms: bool = False


class CustomerUpdate(_In):
    name: str | None = Field(pattern=TEXT, default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Phone
    marketing_email: bool | None = None
    marketing_sms: bool | None = None


class CustomerView(BaseModel):
    id: uuid.UUID
    name: str | None
    email: str | None
    phone: str | None
    marketing_email: bool
    marketing_sms: bool
    erased: bool
    created_at: dt.datetime


class CustomerExport(BaseModel):
    """Everything stored about one customer (the right of access)."""

    customer: CustomerView
    bookings: list[BookingView]
    leads: list[LeadView]
    messages: list[MessageView]


# --- bookings -------------------------------------------------------------------------------


class BookingCreate(_In):
    customer_id: uuid.UUID
    event_date: dt.date
    event_time: str = Time
    guests: int = Field(ge=1, le=500)
    address: str = Field(pattern=TEXT, min_length=1, max_length=500)
    package: str = Field(pattern=TEXT, min_length=1, max_length=64)
    notes: str | None = Field(pattern=TEXT, default=None, max_length=2000)


class BookingStatusChange(_In):
    status: Literal["confirmed", "completed", "cancelled", "no_show"]
    note: str | None = Field(pattern=TEXT, default=None, max_length=500)


class RefundView(BaseModel):
    amount: int
    status: str


class BookingView(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    event_date: dt.date
    event_time: str
    guests: int
    address: str | None
    package: str
    notes: str | None
    status: str
    deposit_status: str | None = None
    refund: RefundView | None = None
    created_at: dt.datetime


class BookingEventView(BaseModel):
    from_status: str | None
    to_status: str
    actor: str
    actor_user_id: uuid.UUID | None
    note: str | None
    at: dt.datetime


class DepositView(BaseModel):
    payment_id: uuid.UUID
    booking_id: uuid.UUID
    payment_intent_id: str
    client_secret: str
    amount: int
    currency: str
    status: str


# --- leads ----------------------------------------------------------------------------------


class PublicLead(_In):
    name: str = Field(pattern=TEXT, min_length=1, max_length=200)
    email: EmailStr
    phone: str | None = Phone
    message: str = Field(pattern=TEXT, min_length=1, max_length=4000)
    website: str | None = Field(
        pattern=TEXT, default=None, max_length=500, description="Leave empty (spam trap)."
    )


class LeadCreate(_In):
    name: str = Field(pattern=TEXT, min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Phone
    message: str = Field(pattern=TEXT, min_length=1, max_length=4000)


class LeadAccepted(BaseModel):
    status: Literal["received"] = "received"


class LeadStatusChange(_In):
    status: Literal["contacted", "qualified", "won", "lost"]


class LeadConvert(_In):
    event_date: dt.date
    event_time: str = Time
    guests: int = Field(ge=1, le=500)
    address: str = Field(pattern=TEXT, min_length=1, max_length=500)
    package: str = Field(pattern=TEXT, min_length=1, max_length=64)
    notes: str | None = Field(pattern=TEXT, default=None, max_length=2000)


class LeadView(BaseModel):
    id: uuid.UUID
    name: str | None
    email: str | None
    phone: str | None
    message: str | None = Field(
        description="Null in a list when it does not decrypt (a ciphertext moved or sealed with another key)."
    )
    source: str
    status: str
    score: int | None
    reasons: list[str] | None
    next_step: str | None
    customer_id: uuid.UUID | None
    booking_id: uuid.UUID | None
    created_at: dt.datetime


class JobAccepted(BaseModel):
    job_id: uuid.UUID
    status: str


# --- reviews --------------------------------------------------------------------------------


class ReviewCreate(_In):
    platform: Literal["google", "yelp", "manual"] = "manual"
    rating: int = Field(ge=1, le=5)
    text: str = Field(pattern=TEXT, default="", max_length=4000)
    reviewer_name: str | None = Field(pattern=TEXT, default=None, max_length=200)
    external_id: str | None = Field(pattern=TEXT, default=None, max_length=255)


class ReviewPublish(_In):
    text: str | None = Field(pattern=TEXT, default=None, min_length=1, max_length=4000)


class ReviewView(BaseModel):
    id: uuid.UUID
    platform: str
    external_id: str | None
    reviewer_name: str | None
    rating: int
    text: str
    reply_draft: str | None
    reply_text: str | None
    reply_status: str
    published_at: dt.datetime | None
    created_at: dt.datetime


# --- inbox, drafts, audit -------------------------------------------------------------------


class MessageView(BaseModel):
    id: uuid.UUID
    thread_id: uuid.UUID
    channel: str
    direction: str
    text: str | None = Field(
        description="Null in a list when it does not decrypt (a ciphertext moved or sealed with another key)."
    )
    is_read: bool
    intent: str | None
    sentiment: str | None
    sensitivity: str | None
    confidence: float | None
    level: int | None
    received_at: dt.datetime


class ThreadView(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    customer_name: str | None
    assigned_user_id: uuid.UUID | None
    unread: int
    last_message_at: dt.datetime
    last_text: str | None
    level: int | None = Field(default=None, description="The escalation level of the last inbound message.")


class ThreadDetail(ThreadView):
    messages: list[MessageView]


class ReplyIn(_In):
    text: str = Field(pattern=TEXT, min_length=1, max_length=2000)
    channel: Literal["sms", "whatsapp"] | None = Field(
        default=None, description="Default: the last inbound's."
    )


class AssignIn(_In):
    user_id: uuid.UUID | None


class DraftDecision(_In):
    text: str | None = Field(
        pattern=TEXT, default=None, min_length=1, max_length=2000, description="Edited text to send."
    )


class DraftView(BaseModel):
    id: uuid.UUID
    thread_id: uuid.UUID
    message_id: uuid.UUID
    text: str | None = Field(
        description="Null in a list when it does not decrypt (a ciphertext moved or sealed with another key)."
    )
    level: int
    status: str
    edited: bool
    message_text: str | None = Field(default=None, description="The customer's message it answers.")
    decided_by: uuid.UUID | None
    decided_at: dt.datetime | None
    created_at: dt.datetime


class AuditView(BaseModel):
    id: uuid.UUID
    action: str
    actor: str
    input_ref: str
    output: Any
    provider: str | None
    model: str | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    level: int | None
    refers_to: uuid.UUID | None
    created_at: dt.datetime
    # ``output.text`` is null because the customer it was about was erased (not a damaged text).
    text_erased: bool = False


class UsageView(BaseModel):
    month: str
    cost_usd: float
    requests: int
    budget_usd: float
    remaining_usd: float
    over_budget: bool


class AlertView(BaseModel):
    id: uuid.UUID
    kind: str
    message: str
    created_at: dt.datetime


class HealthView(BaseModel):
    status: str
    database: str
    version: str


CustomerExport.model_rebuild()
