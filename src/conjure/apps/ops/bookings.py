"""Bookings: capacity per slot held by a counter row, and every status change recorded.

Capacity under concurrency: each (station, date, time) slot has one ``ops_slot_usage`` row;
a booking takes a place with ``UPDATE … SET booked = booked + 1 WHERE booked < capacity``.
That statement is atomic on both backends (PostgreSQL re-checks the condition after waiting
for a concurrent writer of the row; SQLite has one writer), so N concurrent requests for the
last place give exactly one booking and N-1 answers of 409 ``slot_full``.

A booking's date and time are the station's wall clock (``OPS_TIMEZONE``); one that has already
started is refused with 422 ``booking_in_past``, after :data:`PAST_GRACE` for clock skew.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from sqlalchemy import CursorResult, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops.crypto import PIICipher
from conjure.apps.ops.models import Booking, BookingEvent, BookingStatus, SlotUsage, Station
from conjure.apps.ops.schemas import BookingCreate, BookingEventView, BookingView
from conjure.apps.ops.texts import BOOKING_NOTES, readable
from conjure.db import insert_ignore, utcnow
from conjure.errors import Conflict, ConjureError, NotFound

SORTS: dict[str, Any] = {
    "event_date": (Booking.booking_date.asc(), Booking.booking_time.asc()),
    "-event_date": (Booking.booking_date.desc(), Booking.booking_time.desc()),
    "created_at": (Booking.created_at.asc(),),
    "-created_at": (Booking.created_at.desc(),),
}


# How long after its start a booking may still be made: the member's clock (or the form they
# filled in a minute ago) may be a little behind the server's.
PAST_GRACE = dt.timedelta(minutes=5)


class BookingInPast(ConjureError):
    code, status = "booking_in_past", 422


class SlotFull(Conflict):
    code = "slot_full"


class InvalidTransition(Conflict):
    code = "invalid_transition"


def address_context(station_id: uuid.UUID) -> str:
    return f"{station_id}:booking_address"


def view(cipher: PIICipher, booking: Booking, *, lenient: bool = False, **extra: Any) -> BookingView:
    """The booking as shown; ``lenient`` (lists): notes that do not open are null, not 409."""
    return BookingView(
        id=booking.id,
        customer_id=booking.customer_id,
        event_date=booking.booking_date,
        event_time=booking.booking_time,
        guests=booking.guests,
        address=cipher.decrypt(booking.address_enc, address_context(booking.station_id)),
        package=booking.package,
        notes=readable(lenient, BOOKING_NOTES.read, cipher, booking),
        status=booking.status,
        created_at=booking.created_at,
        **extra,
    )


async def _take_slot(session: AsyncSession, station: Station, day: dt.date, time: str) -> None:
    table = cast(Table, SlotUsage.__table__)
    await insert_ignore(
        session, table, {"station_id": station.id, "booking_date": day, "booking_time": time, "booked": 0}
    )
    stmt = (
        update(SlotUsage)
        .where(
            SlotUsage.station_id == station.id,
            SlotUsage.booking_date == day,
            SlotUsage.booking_time == time,
            SlotUsage.booked < station.capacity_per_slot,
        )
        .values(booked=SlotUsage.booked + 1)
    )
    result = cast(CursorResult[Any], await session.execute(stmt))
    if result.rowcount != 1:
        raise SlotFull(f"{day} at {time} is fully booked ({station.capacity_per_slot} per slot).")


async def _release_slot(session: AsyncSession, booking: Booking) -> None:
    await session.execute(
        update(SlotUsage)
        .where(
            SlotUsage.station_id == booking.station_id,
            SlotUsage.booking_date == booking.booking_date,
            SlotUsage.booking_time == booking.booking_time,
            SlotUsage.booked > 0,
        )
        .values(booked=SlotUsage.booked - 1)
    )


def _record(
    session: AsyncSession,
    booking: Booking,
    from_status: str | None,
    actor: str,
    user_id: uuid.UUID | None,
    note: str | None = None,
) -> None:
    session.add(
        BookingEvent(
            booking_id=booking.id,
            station_id=booking.station_id,
            from_status=from_status,
            to_status=booking.status,
            actor=actor,
            actor_user_id=user_id,
            note=note,
        )
    )


def check_not_started(day: dt.date, time: str, zone: dt.tzinfo, now: dt.datetime) -> None:
    """422 ``booking_in_past`` if ``day`` at ``time`` (``HH:MM`` in ``zone``) began more than
    :data:`PAST_GRACE` before ``now``."""
    start = dt.datetime.combine(day, dt.time.fromisoformat(time), tzinfo=zone)
    if start < now - PAST_GRACE:
        raise BookingInPast(f"{day.isoformat()} at {time} has already passed; choose a later date or time.")


async def create_booking(
    session: AsyncSession,
    cipher: PIICipher,
    station: Station,
    body: BookingCreate,
    *,
    user_id: uuid.UUID | None,
    zone: dt.tzinfo,
) -> Booking:
    """A pending booking, if it has not started (``zone``: the wall clock of its date and time;
    422 ``booking_in_past`` otherwise) and its slot has room (409 ``slot_full`` otherwise)."""
    check_not_started(body.event_date, body.event_time, zone, utcnow())
    await _take_slot(session, station, body.event_date, body.event_time)
    booking = Booking(
        id=uuid.uuid4(),
        station_id=station.id,
        customer_id=body.customer_id,
        booking_date=body.event_date,
        booking_time=body.event_time,
        guests=body.guests,
        address_enc=cipher.encrypt(body.address, address_context(station.id)),
        package=body.package,
        status=BookingStatus.PENDING,
        created_by=user_id,
    )
    BOOKING_NOTES.seal_into(cipher, booking, body.notes)
    session.add(booking)
    await session.flush()
    _record(session, booking, None, "member" if user_id else "system", user_id)
    return booking


async def get_booking(
    session: AsyncSession, station_id: uuid.UUID, booking_id: uuid.UUID, *, lock: bool = False
) -> Booking:
    stmt = select(Booking).where(Booking.id == booking_id, Booking.station_id == station_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    booking = (await session.execute(stmt)).scalar_one_or_none()
    if booking is None:
        raise NotFound("No such booking.")
    return booking


async def transition(
    session: AsyncSession,
    booking: Booking,
    to_status: str,
    *,
    actor: str,
    user_id: uuid.UUID | None,
    note: str | None = None,
) -> Booking:
    """Move the booking along its life; 409 ``invalid_transition`` for a move it does not allow."""
    if to_status not in BookingStatus.NEXT.get(booking.status, set()):
        raise InvalidTransition(f"A {booking.status} booking cannot become {to_status}.")
    before = booking.status
    booking.status = to_status
    booking.updated_at = utcnow()
    if to_status not in BookingStatus.HOLDS_SLOT:
        await _release_slot(session, booking)
    _record(session, booking, before, actor, user_id, note)
    return booking


async def list_bookings(
    session: AsyncSession,
    station_id: uuid.UUID,
    *,
    status: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    customer_id: uuid.UUID | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[list[Booking], int]:
    where: list[Any] = [Booking.station_id == station_id]
    if status:
        where.append(Booking.status == status)
    if date_from:
        where.append(Booking.booking_date >= date_from)
    if date_to:
        where.append(Booking.booking_date <= date_to)
    if customer_id:
        where.append(Booking.customer_id == customer_id)
    total = await session.scalar(select(func.count()).select_from(Booking).where(*where))
    stmt = select(Booking).where(*where).order_by(*SORTS[sort], Booking.id).limit(limit).offset(offset)
    return list(await session.scalars(stmt)), int(total or 0)


async def events_of(session: AsyncSession, booking: Booking) -> list[BookingEventView]:
    stmt = select(BookingEvent).where(BookingEvent.booking_id == booking.id).order_by(BookingEvent.at)
    return [
        BookingEventView(
            from_status=e.from_status,
            to_status=e.to_status,
            actor=e.actor,
            actor_user_id=e.actor_user_id,
            note=e.note,
            at=e.at,
        )
        for e in await session.scalars(stmt)
    ]
