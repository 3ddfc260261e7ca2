"""Ops HTTP routes, part 1: stations, members, channel addresses, customers, bookings and deposits.

Every route under ``/stations/{sid}`` takes one of the access dependencies of
:mod:`conjure.apps.ops.deps` (404 for a non-member, 403 below the route's role).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Response

from conjure.apps.ops import bookings, customers, deposits, leads, stations
from conjure.apps.ops.crypto import PIICipher, cipher_for
from conjure.apps.ops.deps import ManagerAccess, OwnerAccess, StaffAccess, ViewerAccess
from conjure.apps.ops.models import Booking, BookingStatus, Station
from conjure.apps.ops.schemas import (
    BookingCreate,
    BookingEventView,
    BookingStatusChange,
    BookingView,
    ChannelCreate,
    ChannelView,
    CustomerCreate,
    CustomerExport,
    CustomerUpdate,
    CustomerView,
    DepositView,
    MemberCreate,
    MemberUpdate,
    MemberView,
    RefundView,
    StationCreate,
    StationUpdate,
    StationView,
)
from conjure.apps.ops.settings import OpsSettings
from conjure.apps.ops.threads import message_view
from conjure.auth.deps import AdminUser, CurrentUser
from conjure.db import utcnow
from conjure.deps import RuntimeDep, SessionDep
from conjure.kit.paging import Page, PageDep, PageParams
from conjure.kit.problems import problems
from conjure.payments.stripe_client import gateway_for
from conjure.users.models import Role as UserRole

router = APIRouter(prefix="/api/v1/ops", tags=["ops"])
T = TypeVar("T")
S = "/stations/{sid}"
_R = problems(401, 403, 404, 422)
_W = problems(401, 403, 404, 409, 422)


async def get_cipher(runtime: RuntimeDep) -> PIICipher:
    return cipher_for(runtime.settings)


CipherDep = Annotated[PIICipher, Depends(get_cipher)]


async def get_booking_zone(runtime: RuntimeDep) -> dt.tzinfo:
    return runtime.settings.for_app(OpsSettings).booking_zone


# The wall clock a booking's date and time are read in (OPS_TIMEZONE), and the calendar the
# refund policy counts days' notice on.
BookingZoneDep = Annotated[dt.tzinfo, Depends(get_booking_zone)]


def station_view(station: Station, role: str | None) -> StationView:
    return StationView(
        id=station.id,
        name=station.name,
        slug=station.slug,
        role=role,
        capacity_per_slot=station.capacity_per_slot,
        deposit_amount=station.deposit_amount,
        currency=station.currency,
        refund_full_days=station.refund_full_days,
        refund_half_days=station.refund_half_days,
        ai_auto_reply=station.ai_auto_reply,
        ai_level1_confidence=station.ai_level1_confidence,
        ai_level2_confidence=station.ai_level2_confidence,
        ai_monthly_budget_usd=station.ai_monthly_budget_usd,
    )


def _page(items: list[T], page: PageParams) -> Page[T]:
    """A page of a short list read whole (members, channels, a booking's events)."""
    chosen = items[page.offset : page.offset + page.limit]
    return Page[T](items=chosen, total=len(items), limit=page.limit, offset=page.offset)


# --- stations, members, channels ------------------------------------------------------------


@router.post("/stations", status_code=201, responses=problems(401, 403, 409, 422))
async def create_station(
    body: StationCreate, _: AdminUser, session: SessionDep, runtime: RuntimeDep
) -> StationView:
    """A new station and its first owner (platform admins only)."""
    station = await stations.create_station(session, runtime.settings, body)
    return station_view(station, None)


@router.get("/stations", responses=problems(401, 422))
async def list_stations(user: CurrentUser, session: SessionDep, page: PageDep) -> Page[StationView]:
    """The stations the caller belongs to, with their role in each."""
    rows, total = await stations.stations_of(
        session, user.id, admin=user.role == UserRole.ADMIN, limit=page.limit, offset=page.offset
    )
    items = [station_view(s, role) for s, role in rows]
    return Page[StationView](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(S, responses=_R)
async def read_station(access: ViewerAccess) -> StationView:
    """One station and the caller's role in it."""
    return station_view(access.station, access.role)


@router.patch(S, responses=_R)
async def update_station(body: StationUpdate, access: OwnerAccess) -> StationView:
    """Capacity, deposit and refund policy, AI escalation thresholds and budget (owners)."""
    return station_view(stations.update_station(access.station, body), access.role)


@router.get(S + "/members", responses=_R)
async def list_members(access: ViewerAccess, session: SessionDep, page: PageDep) -> Page[MemberView]:
    """The station's members and roles, oldest first."""
    rows = await stations.members(session, access.station_id)
    items = [MemberView(id=m.id, user_id=m.user_id, email=email, role=m.role) for m, email in rows]
    return _page(items, page)


@router.post(S + "/members", status_code=201, responses=_W)
async def add_member(body: MemberCreate, access: OwnerAccess, session: SessionDep) -> MemberView:
    """Add a signed-up user by email with a role (owners)."""
    member = await stations.add_member(session, access.station_id, str(body.email), body.role)
    return MemberView(id=member.id, user_id=member.user_id, email=str(body.email).lower(), role=member.role)


@router.patch(S + "/members/{member_id}", responses=_W)
async def change_member(
    member_id: uuid.UUID, body: MemberUpdate, access: OwnerAccess, session: SessionDep
) -> MemberView:
    """Change a member's role (a station keeps at least one owner)."""
    member = await stations.get_member(session, access.station_id, member_id)
    await stations.change_role(session, member, body.role)
    return MemberView(id=member.id, user_id=member.user_id, email=None, role=member.role)


@router.delete(S + "/members/{member_id}", status_code=204, responses=_W)
async def remove_member(member_id: uuid.UUID, access: OwnerAccess, session: SessionDep) -> Response:
    """Remove a member (not the last owner)."""
    member = await stations.get_member(session, access.station_id, member_id)
    await stations.remove_member(session, member)
    return Response(status_code=204)


@router.get(S + "/channels", responses=_R)
async def list_channels(access: ManagerAccess, session: SessionDep, page: PageDep) -> Page[ChannelView]:
    """The SMS number, WhatsApp phone id and Google location that route messages to this station."""
    rows = await stations.channels(session, access.station_id)
    return _page([ChannelView(channel=c.channel, address=c.address) for c in rows], page)


@router.post(S + "/channels", status_code=201, responses=_W)
async def add_channel(body: ChannelCreate, access: OwnerAccess, session: SessionDep) -> ChannelView:
    """Route one channel address to this station (owners)."""
    row = await stations.add_channel(session, access.station_id, body.channel, body.address)
    return ChannelView(channel=row.channel, address=row.address)


@router.delete(S + "/channels/{channel}/{address}", status_code=204, responses=_W)
async def remove_channel(channel: str, address: str, access: OwnerAccess, session: SessionDep) -> Response:
    """Stop routing an address to this station (owners)."""
    await stations.remove_channel(session, access.station_id, channel, address)
    return Response(status_code=204)


# --- customers ------------------------------------------------------------------------------


@router.get(S + "/customers", responses=_R)
async def list_customers(
    access: ViewerAccess,
    session: SessionDep,
    cipher: CipherDep,
    page: PageDep,
    email: Annotated[
        str | None, Query(max_length=320, description="Exact email (keyed-hash lookup).")
    ] = None,
    phone: Annotated[str | None, Query(max_length=20, description="Exact E.164 phone.")] = None,
    sort: Literal["created_at", "-created_at", "updated_at", "-updated_at"] = "-created_at",
    q: Annotated[
        str | None,
        Query(max_length=200, description="A part of the name (any case), or the whole email or phone."),
    ] = None,
) -> Page[CustomerView]:
    """The station's customers (PII decrypted for members)."""
    rows, total = await customers.list_customers(
        session,
        cipher,
        access.station_id,
        email=email,
        phone=phone,
        q=q,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
    )
    items = [customers.view(cipher, c) for c in rows]
    return Page[CustomerView](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(S + "/customers", status_code=201, responses=_R)
async def create_customer(
    body: CustomerCreate, access: StaffAccess, session: SessionDep, cipher: CipherDep
) -> CustomerView:
    """A new customer; email and phone are stored encrypted."""
    return customers.view(cipher, await customers.create_customer(session, cipher, access.station_id, body))


@router.get(S + "/customers/{customer_id}", responses=_R)
async def read_customer(
    customer_id: uuid.UUID, access: ViewerAccess, session: SessionDep, cipher: CipherDep
) -> CustomerView:
    """One customer."""
    return customers.view(cipher, await customers.get_customer(session, access.station_id, customer_id))


@router.patch(S + "/customers/{customer_id}", responses=_W)
async def update_customer(
    customer_id: uuid.UUID, body: CustomerUpdate, access: StaffAccess, session: SessionDep, cipher: CipherDep
) -> CustomerView:
    """Change a customer's details or marketing consent."""
    customer = await customers.get_customer(session, access.station_id, customer_id)
    return customers.view(cipher, await customers.update_customer(session, cipher, customer, body))


@router.get(S + "/customers/{customer_id}/export", responses=_R)
async def export_customer(
    customer_id: uuid.UUID, access: ManagerAccess, session: SessionDep, cipher: CipherDep
) -> CustomerExport:
    """Everything stored about a customer: details, bookings, leads, messages (managers)."""
    customer = await customers.get_customer(session, access.station_id, customer_id)
    booking_rows, lead_rows, messages = await customers.records_of(session, customer)
    return CustomerExport(
        customer=customers.view(cipher, customer),
        bookings=[bookings.view(cipher, b, lenient=True) for b in booking_rows],
        leads=[leads.view(cipher, lead, lenient=True) for lead in lead_rows],
        messages=[message_view(cipher, m, lenient=True) for m in messages],
    )


@router.post(S + "/customers/{customer_id}/erase", responses=_R)
async def erase_customer(
    customer_id: uuid.UUID, access: OwnerAccess, session: SessionDep, cipher: CipherDep
) -> CustomerView:
    """Anonymise a customer: personal data gone, bookings' non-personal facts kept (owners)."""
    customer = await customers.get_customer(session, access.station_id, customer_id)
    return customers.view(cipher, await customers.erase_customer(session, customer))


# --- bookings -------------------------------------------------------------------------------


async def _booking_view(
    session: SessionDep, cipher: PIICipher, booking: Booking, *, lenient: bool = False
) -> BookingView:
    deposit = await deposits.existing_deposit(session, booking)
    refund = None
    if deposit is not None and deposit.refund_status:
        refund = RefundView(amount=deposit.amount_refunded, status=deposit.refund_status)
    return bookings.view(
        cipher, booking, lenient=lenient, deposit_status=deposit.status if deposit else None, refund=refund
    )


@router.get(S + "/bookings", responses=_R)
async def list_bookings(
    access: ViewerAccess,
    session: SessionDep,
    cipher: CipherDep,
    page: PageDep,
    status: Literal["pending", "confirmed", "completed", "cancelled", "no_show"] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    customer_id: uuid.UUID | None = None,
    sort: Literal["event_date", "-event_date", "created_at", "-created_at"] = "event_date",
) -> Page[BookingView]:
    """The station's bookings, by event date unless ``sort`` says otherwise."""
    rows, total = await bookings.list_bookings(
        session, access.station_id, status=status, date_from=date_from, date_to=date_to,
        customer_id=customer_id, sort=sort, limit=page.limit, offset=page.offset,
    )  # fmt: skip
    items = [await _booking_view(session, cipher, b, lenient=True) for b in rows]
    return Page[BookingView](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(S + "/bookings", status_code=201, responses=_W)
async def create_booking(
    body: BookingCreate, access: StaffAccess, session: SessionDep, cipher: CipherDep, zone: BookingZoneDep
) -> BookingView:
    """A pending booking; 422 ``booking_in_past`` once its start has passed (OPS_TIMEZONE's wall
    clock, a few minutes' grace), 409 ``slot_full`` when the slot has no room left."""
    await customers.get_customer(session, access.station_id, body.customer_id)
    booking = await bookings.create_booking(
        session, cipher, access.station, body, user_id=access.user_id, zone=zone
    )
    return bookings.view(cipher, booking)


@router.get(S + "/bookings/{booking_id}", responses=_R)
async def read_booking(
    booking_id: uuid.UUID, access: ViewerAccess, session: SessionDep, cipher: CipherDep
) -> BookingView:
    """One booking with its deposit and refund state."""
    return await _booking_view(
        session, cipher, await bookings.get_booking(session, access.station_id, booking_id)
    )


@router.get(S + "/bookings/{booking_id}/events", responses=_R)
async def booking_events(
    booking_id: uuid.UUID, access: ViewerAccess, session: SessionDep, page: PageDep
) -> Page[BookingEventView]:
    """Every status change of the booking, oldest first: from, to, who and when."""
    booking = await bookings.get_booking(session, access.station_id, booking_id)
    return _page(await bookings.events_of(session, booking), page)


@router.post(S + "/bookings/{booking_id}/status", responses=problems(401, 403, 404, 409, 422, 502))
async def change_booking_status(
    booking_id: uuid.UUID,
    body: BookingStatusChange,
    access: StaffAccess,
    session: SessionDep,
    cipher: CipherDep,
    runtime: RuntimeDep,
    zone: BookingZoneDep,
) -> BookingView:
    """Move a booking along; a cancellation refunds the deposit by the station's policy (days'
    notice counted on OPS_TIMEZONE's calendar)."""
    booking = await bookings.get_booking(session, access.station_id, booking_id, lock=True)
    deposit = await deposits.existing_deposit(session, booking)
    await bookings.transition(
        session, booking, body.status, actor="member", user_id=access.user_id, note=body.note
    )
    due = 0
    if body.status == BookingStatus.CANCELLED:
        due = deposits.refund_due(access.station, booking, deposit, utcnow(), zone)
    if due and deposit is not None:
        deposit.refund_status = "pending"
        await session.commit()  # the cancellation stands even if Stripe is slow; never hold it open
        refund_id = await deposits.send_refund(gateway_for(runtime), deposit, due)
        await deposits.record_refund(session, deposit.id, due, refund_id)
    # Notes that do not open show null: the change stands (it may be committed already).
    return await _booking_view(session, cipher, booking, lenient=True)


@router.post(S + "/bookings/{booking_id}/deposit", responses=problems(401, 403, 404, 409, 422, 502, 503))
async def create_deposit(
    booking_id: uuid.UUID, access: StaffAccess, session: SessionDep, runtime: RuntimeDep
) -> DepositView:
    """A Stripe PaymentIntent for the booking's deposit; its webhook confirms the booking."""
    gateway = gateway_for(runtime)
    booking = await bookings.get_booking(session, access.station_id, booking_id)
    deposits.check_can_pay(booking, await deposits.existing_deposit(session, booking))
    await session.commit()  # never hold a transaction across a call to Stripe
    payment_id, intent = await deposits.create_intent(gateway, access.station, booking)
    row = await deposits.record_deposit(
        session, payment_id, booking, intent.id, intent.amount, intent.currency
    )
    return DepositView(
        payment_id=row.id,
        booking_id=booking.id,
        payment_intent_id=row.stripe_payment_intent_id,
        client_secret=intent.client_secret or "",
        amount=row.amount,
        currency=row.currency,
        status=row.status,
    )
