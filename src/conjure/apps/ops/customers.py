"""Customers: PII encrypted per field, found by keyed hash (a name part by its blind index,
:mod:`conjure.apps.ops.names`), exported and erased on request.

Erasure (the right to be forgotten) clears every personal field of the customer, the
addresses and notes of their bookings, the text of their messages and of the AI's drafts in
their thread (plain and sealed), and keeps what is not personal (dates, guests, package,
statuses, amounts) so the station's books still add up. The AI audit trail is append-only: its
texts about the customer were sealed with their own key, which erasure deletes
(:mod:`conjure.apps.ops.customer_keys`), so those no longer open.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import CompoundSelect, func, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops import customer_keys, names
from conjure.apps.ops.crypto import PIICipher, context
from conjure.apps.ops.models import Booking, Customer, Draft, InboxMessage, Lead, Thread
from conjure.apps.ops.schemas import CustomerCreate, CustomerUpdate, CustomerView
from conjure.db import new_id, utcnow
from conjure.errors import Conflict, NotFound

ERASED = "[erased]"
# A search by name part stops collecting matches here (a one-letter search would list most of a
# station): the form shows the first page of them, and a longer part narrows it.
NAME_MATCHES_MAX = 1000
SORTS: dict[str, Any] = {
    "created_at": Customer.created_at.asc(),
    "-created_at": Customer.created_at.desc(),
    "updated_at": Customer.updated_at.asc(),
    "-updated_at": Customer.updated_at.desc(),
}


def view(cipher: PIICipher, customer: Customer) -> CustomerView:
    sid = customer.station_id
    return CustomerView(
        id=customer.id,
        name=cipher.decrypt(customer.name_enc, context(sid, "name")),
        email=cipher.decrypt(customer.email_enc, context(sid, "email")),
        phone=cipher.decrypt(customer.phone_enc, context(sid, "phone")),
        marketing_email=customer.marketing_email,
        marketing_sms=customer.marketing_sms,
        erased=customer.erased_at is not None,
        created_at=customer.created_at,
    )


async def set_pii(
    session: AsyncSession, cipher: PIICipher, customer: Customer, field: str, value: str | None
) -> None:
    """Set one personal field of a customer in the session: its ciphertext, and what finds it (the
    keyed hash of an email or phone, the name's search tokens)."""
    sid = customer.station_id
    setattr(customer, f"{field}_enc", cipher.encrypt(value, context(sid, field)))
    if field in ("email", "phone"):
        setattr(customer, f"{field}_hash", cipher.lookup_hash(value, context(sid, field)))
    elif field == "name":
        await names.write_tokens(session, cipher, customer, value)


async def create_customer(
    session: AsyncSession, cipher: PIICipher, station_id: uuid.UUID, body: CustomerCreate
) -> Customer:
    customer = Customer(
        id=new_id(),
        station_id=station_id,
        marketing_email=body.marketing_email,
        marketing_sms=body.marketing_sms,
    )
    session.add(customer)
    # The name last: writing its tokens flushes the customer, by then with every field.
    await set_pii(session, cipher, customer, "email", body.email)
    await set_pii(session, cipher, customer, "phone", body.phone)
    await set_pii(session, cipher, customer, "name", body.name)
    await session.flush()
    return customer


async def get_customer(session: AsyncSession, station_id: uuid.UUID, customer_id: uuid.UUID) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.station_id != station_id:
        raise NotFound("No such customer.")
    return customer


async def find_by(
    session: AsyncSession, cipher: PIICipher, station_id: uuid.UUID, field: str, value: str
) -> Customer | None:
    """The station's customer with this email or phone (keyed-hash lookup; never decrypts rows)."""
    digest = cipher.lookup_hash(value, context(station_id, field))
    column = Customer.email_hash if field == "email" else Customer.phone_hash
    stmt = select(Customer).where(Customer.station_id == station_id, column == digest)
    return (await session.execute(stmt.order_by(Customer.created_at).limit(1))).scalar_one_or_none()


async def list_customers(
    session: AsyncSession,
    cipher: PIICipher,
    station_id: uuid.UUID,
    *,
    email: str | None,
    phone: str | None,
    sort: str,
    limit: int,
    offset: int,
    q: str | None = None,
) -> tuple[list[Customer], int]:
    where = [Customer.station_id == station_id]
    if q and q.strip():
        where.append(Customer.id.in_(await _search(session, cipher, station_id, q.strip())))
    if email:
        where.append(Customer.email_hash == cipher.lookup_hash(email, context(station_id, "email")))
    if phone:
        where.append(Customer.phone_hash == cipher.lookup_hash(phone, context(station_id, "phone")))
    total = await session.scalar(select(func.count()).select_from(Customer).where(*where))
    stmt = select(Customer).where(*where).order_by(SORTS[sort], Customer.id).limit(limit).offset(offset)
    return list(await session.scalars(stmt)), int(total or 0)


async def _search(
    session: AsyncSession, cipher: PIICipher, station_id: uuid.UUID, q: str
) -> CompoundSelect[uuid.UUID]:
    """The ids of customers whose name holds ``q`` (any case) or whose whole email or phone is ``q``.

    Names are found by their blind index (:mod:`conjure.apps.ops.names`: only candidates of a
    query longer than a token are decrypted, to confirm; erased customers have no tokens); emails
    and phones match whole, by the keyed hash they are stored with.
    """
    by_hash = [
        select(Customer.id).where(
            Customer.station_id == station_id, column == cipher.lookup_hash(q, context(station_id, field))
        )
        for field, column in (("email", Customer.email_hash), ("phone", Customer.phone_hash))
    ]
    return union(await names.name_matches(session, cipher, station_id, q, NAME_MATCHES_MAX), *by_hash)


async def update_customer(
    session: AsyncSession, cipher: PIICipher, customer: Customer, body: CustomerUpdate
) -> Customer:
    if customer.erased_at is not None:
        raise Conflict("This customer was erased.", code="customer_erased")
    changes = body.model_dump(exclude_unset=True)
    # Every column first, the name last: writing its tokens flushes the row in one UPDATE.
    customer.updated_at = utcnow()
    for flag in ("marketing_email", "marketing_sms"):
        if changes.get(flag) is not None:
            setattr(customer, flag, changes[flag])
    for field in ("email", "phone", "name"):
        if field in changes:
            await set_pii(session, cipher, customer, field, changes[field])
    return customer


async def erase_customer(session: AsyncSession, customer: Customer) -> Customer:
    """Anonymise the customer and the personal parts of their records; idempotent."""
    customer.name_enc = customer.email_enc = customer.phone_enc = None
    customer.email_hash = customer.phone_hash = None
    customer.marketing_email = customer.marketing_sms = False
    customer.erased_at = customer.erased_at or utcnow()
    customer.updated_at = utcnow()
    await names.forget_tokens(session, customer)
    await session.execute(
        update(Booking)
        .where(Booking.customer_id == customer.id)
        .values(address_enc=None, notes=None, notes_enc=None)
    )
    threads = select(Thread.id).where(Thread.customer_id == customer.id)
    # The text is gone, sealed or not; ERASED (not personal) is what the views show, and the
    # backfill seals it like any plain text.
    await session.execute(
        update(InboxMessage).where(InboxMessage.thread_id.in_(threads)).values(text=ERASED, text_enc=None)
    )
    await session.execute(
        update(Draft).where(Draft.thread_id.in_(threads)).values(text=ERASED, text_enc=None)
    )
    await session.execute(
        update(Lead)
        .where(Lead.customer_id == customer.id)
        .values(
            name_enc=None, email_enc=None, email_hash=None, phone_enc=None, message=ERASED, message_enc=None
        )
    )
    # Last: a key made meanwhile by a transaction holding a draft this one waited for is deleted too.
    await customer_keys.forget_key(session, customer.id)
    return customer


async def records_of(
    session: AsyncSession, customer: Customer
) -> tuple[list[Booking], list[Lead], list[InboxMessage]]:
    """The customer's bookings, leads and messages, oldest first (for the export)."""
    bookings = await session.scalars(
        select(Booking).where(Booking.customer_id == customer.id).order_by(Booking.created_at)
    )
    leads = await session.scalars(
        select(Lead).where(Lead.customer_id == customer.id).order_by(Lead.created_at)
    )
    threads = select(Thread.id).where(Thread.customer_id == customer.id)
    messages = await session.scalars(
        select(InboxMessage).where(InboxMessage.thread_id.in_(threads)).order_by(InboxMessage.received_at)
    )
    return list(bookings), list(leads), list(messages)
