"""Leads: the public form (honeypot, rate-limited by the route), status flow, AI score, conversion."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops import bookings, customers, texts
from conjure.apps.ops.crypto import PIICipher, context
from conjure.apps.ops.models import Booking, Lead, LeadStatus, Station
from conjure.apps.ops.schemas import BookingCreate, CustomerCreate, LeadConvert, LeadCreate, LeadView
from conjure.db import new_id, utcnow
from conjure.errors import Conflict, NotFound
from conjure.users.service import normalize_email

SORTS: dict[str, Any] = {
    "created_at": Lead.created_at.asc(),
    "-created_at": Lead.created_at.desc(),
    "score": Lead.score.asc(),
    "-score": Lead.score.desc(),
}


class InvalidLeadTransition(Conflict):
    code = "invalid_transition"


def lead_context(station_id: uuid.UUID, field: str) -> str:
    return f"{station_id}:lead_{field}"


def email_hash(cipher: PIICipher, station_id: uuid.UUID, email: str | None) -> str | None:
    """The lead's email's lookup hash (normalized: the same address however it was typed)."""
    return cipher.lookup_hash(normalize_email(email) if email else None, lead_context(station_id, "email"))


def view(cipher: PIICipher, lead: Lead, *, lenient: bool = False) -> LeadView:
    """The lead as shown; ``lenient`` (lists): a message that does not open is null, not 409."""
    sid = lead.station_id
    return LeadView(
        id=lead.id,
        name=cipher.decrypt(lead.name_enc, lead_context(sid, "name")),
        email=cipher.decrypt(lead.email_enc, lead_context(sid, "email")),
        phone=cipher.decrypt(lead.phone_enc, lead_context(sid, "phone")),
        message=texts.readable(lenient, texts.LEAD_MESSAGE.read, cipher, lead),
        source=lead.source,
        status=lead.status,
        score=lead.score,
        reasons=lead.reasons,
        next_step=lead.next_step,
        customer_id=lead.customer_id,
        booking_id=lead.booking_id,
        created_at=lead.created_at,
    )


async def create_lead(
    session: AsyncSession, cipher: PIICipher, station_id: uuid.UUID, body: LeadCreate, source: str
) -> Lead:
    lead = Lead(
        id=new_id(),
        station_id=station_id,
        name_enc=cipher.encrypt(body.name, lead_context(station_id, "name")),
        email_enc=cipher.encrypt(body.email, lead_context(station_id, "email")),
        email_hash=email_hash(cipher, station_id, body.email),
        phone_enc=cipher.encrypt(body.phone, lead_context(station_id, "phone")),
        source=source,
        status=LeadStatus.NEW,
    )
    texts.LEAD_MESSAGE.seal_into(cipher, lead, body.message)
    session.add(lead)
    await session.flush()
    return lead


# A form sent again within this long with the same email and message is the same enquiry
# (a double-click, a resend after a slow answer), not a second lead on the board.
FORM_REPEAT_WINDOW = dt.timedelta(hours=1)


async def is_repeated_form(
    session: AsyncSession, cipher: PIICipher, station_id: uuid.UUID, body: LeadCreate
) -> bool:
    """Whether the station got this form (same email and message) within ``FORM_REPEAT_WINDOW``.

    Takes the station row's write lock first (a no-op UPDATE: a row lock on PostgreSQL, the database's
    write lock on SQLite), so two copies sent at once are checked one after the other and the second
    sees the first; public forms are rare enough for that.
    """
    await session.execute(update(Station).where(Station.id == station_id).values(slug=Station.slug))
    email = normalize_email(body.email) if body.email else None
    if email is None:
        return False
    # The messages are sealed per lead (no equality in SQL): SQL narrows the last hour's form leads
    # to this email's (by its lookup hash; leads from before 0027 have none and are checked too),
    # and only those are opened to compare.
    stmt = select(Lead).where(
        Lead.station_id == station_id,
        Lead.source == "form",
        Lead.email_enc.is_not(None),
        or_(Lead.email_hash == email_hash(cipher, station_id, email), Lead.email_hash.is_(None)),
        Lead.created_at >= utcnow() - FORM_REPEAT_WINDOW,
    )
    context = lead_context(station_id, "email")
    for lead in (await session.scalars(stmt)).all():
        try:
            sent = cipher.decrypt(lead.email_enc, context)
        except ValueError:
            continue  # an email that does not open: not the same one
        if (
            sent is not None
            and normalize_email(sent) == email
            # A message that does not open is not a repeat (the visitor's form is stored).
            and texts.readable(True, texts.LEAD_MESSAGE.read, cipher, lead) == body.message
        ):
            return True
    return False


async def get_lead(session: AsyncSession, station_id: uuid.UUID, lead_id: uuid.UUID) -> Lead:
    lead = await session.get(Lead, lead_id)
    if lead is None or lead.station_id != station_id:
        raise NotFound("No such lead.")
    return lead


async def list_leads(
    session: AsyncSession, station_id: uuid.UUID, *, status: str | None, sort: str, limit: int, offset: int
) -> tuple[list[Lead], int]:
    where: list[Any] = [Lead.station_id == station_id]
    if status:
        where.append(Lead.status == status)
    total = await session.scalar(select(func.count()).select_from(Lead).where(*where))
    stmt = select(Lead).where(*where).order_by(SORTS[sort], Lead.id).limit(limit).offset(offset)
    return list(await session.scalars(stmt)), int(total or 0)


def set_status(lead: Lead, status: str) -> Lead:
    if status not in LeadStatus.NEXT.get(lead.status, set()):
        raise InvalidLeadTransition(f"A {lead.status} lead cannot become {status}.")
    lead.status = status
    lead.updated_at = utcnow()
    if status == LeadStatus.QUALIFIED:
        lead.qualified_at = lead.updated_at
    return lead


async def convert(
    session: AsyncSession,
    cipher: PIICipher,
    station: Station,
    lead: Lead,
    body: LeadConvert,
    *,
    user_id: uuid.UUID,
    zone: dt.tzinfo,
) -> Booking:
    """The lead's customer (found by email or phone, else new) and a pending booking (its date and
    time on ``zone``'s wall clock, not yet started); the lead is won."""
    if lead.status in (LeadStatus.WON, LeadStatus.LOST):
        raise InvalidLeadTransition(f"A {lead.status} lead cannot be converted.")
    name = cipher.decrypt(lead.name_enc, lead_context(station.id, "name")) or "Customer"
    email = cipher.decrypt(lead.email_enc, lead_context(station.id, "email"))
    phone = cipher.decrypt(lead.phone_enc, lead_context(station.id, "phone"))
    customer = None
    if email:
        customer = await customers.find_by(session, cipher, station.id, "email", email)
    if customer is None and phone:
        customer = await customers.find_by(session, cipher, station.id, "phone", phone)
    if customer is None:
        customer = await customers.create_customer(
            session, cipher, station.id, CustomerCreate(name=name, email=email, phone=phone)
        )
    booking = await bookings.create_booking(
        session,
        cipher,
        station,
        BookingCreate(customer_id=customer.id, **body.model_dump()),
        user_id=user_id,
        zone=zone,
    )
    lead.customer_id, lead.booking_id = customer.id, booking.id
    lead.status, lead.updated_at = LeadStatus.WON, utcnow()
    return booking


async def lead_from_thread(
    session: AsyncSession, cipher: PIICipher, station_id: uuid.UUID, thread_customer: uuid.UUID, message: str
) -> Lead:
    """A lead from an inbox conversation: the customer's contact details and their last message."""
    customer = await customers.get_customer(session, station_id, thread_customer)
    body = LeadCreate.model_construct(
        name=cipher.decrypt(customer.name_enc, context(station_id, "name")) or "Customer",
        email=cipher.decrypt(customer.email_enc, context(station_id, "email")),
        phone=cipher.decrypt(customer.phone_enc, context(station_id, "phone")),
        message=message,
    )
    lead = await create_lead(session, cipher, station_id, body, "inbox")
    lead.customer_id = customer.id
    return lead
