"""Stations (the tenants), their members and roles, and the channel addresses that route to them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops.models import Member, Role, Station, StationChannel, Thread
from conjure.apps.ops.schemas import StationCreate, StationUpdate
from conjure.apps.ops.settings import OpsSettings
from conjure.errors import Conflict, ConjureError, NotFound
from conjure.settings import Settings
from conjure.users.models import User
from conjure.users.service import normalize_email


class UnknownUser(ConjureError):
    code, status = "unknown_user", 422


class LastOwner(Conflict):
    code = "last_owner"


class InvalidStationSettings(ConjureError):
    code, status = "invalid_station_settings", 422


async def _user_by_email(session: AsyncSession, email: str) -> User:
    user = await session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise UnknownUser("No user has signed up with that email yet.")
    return user


async def create_station(session: AsyncSession, settings: Settings, body: StationCreate) -> Station:
    """A new station with its first owner (platform admins only)."""
    owner = await _user_by_email(session, body.owner_email)
    if await session.scalar(select(Station.id).where(Station.slug == body.slug)) is not None:
        raise Conflict("That slug is taken.", code="slug_taken")
    ops = settings.for_app(OpsSettings)
    station = Station(
        name=body.name,
        slug=body.slug,
        deposit_amount=ops.ops_deposit_amount,
        currency=ops.ops_deposit_currency,
        ai_monthly_budget_usd=ops.ops_default_monthly_budget_usd,
    )
    session.add(station)
    await session.flush()
    session.add(Member(station_id=station.id, user_id=owner.id, role=Role.OWNER))
    await session.flush()
    return station


async def stations_of(
    session: AsyncSession, user_id: uuid.UUID, *, admin: bool, limit: int, offset: int
) -> tuple[list[tuple[Station, str]], int]:
    """The caller's stations with their role (all stations, as owner, for a platform admin)."""
    if admin:
        total = await session.scalar(select(func.count()).select_from(Station))
        rows = await session.scalars(select(Station).order_by(Station.name).limit(limit).offset(offset))
        return [(s, Role.OWNER) for s in rows], int(total or 0)
    mine = select(Station, Member.role).join(Member, Member.station_id == Station.id)
    mine = mine.where(Member.user_id == user_id)
    total = await session.scalar(select(func.count()).select_from(mine.subquery()))
    result = await session.execute(mine.order_by(Station.name).limit(limit).offset(offset))
    return [(s, r) for s, r in result.all()], int(total or 0)


def update_station(station: Station, body: StationUpdate) -> Station:
    """Apply an owner's changes to the station's settings; ``InvalidStationSettings`` if they contradict."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    # Checked on the result (a change plus what is saved): each bound alone is valid, the pair may not be.
    after = {
        name: changes.get(name, getattr(station, name))
        for name in ("refund_full_days", "refund_half_days", "ai_level1_confidence", "ai_level2_confidence")
    }
    if after["refund_full_days"] < after["refund_half_days"]:
        # deposits.refund_due tries the full tier first: a half tier needing more notice never applies.
        raise InvalidStationSettings(
            "A full refund needs at least as many days' notice as a half refund "
            "(refund_full_days >= refund_half_days)."
        )
    if after["ai_level1_confidence"] < after["ai_level2_confidence"]:
        raise InvalidStationSettings(
            "Sending a reply without approval needs at least the confidence of a draft "
            "(ai_level1_confidence >= ai_level2_confidence)."
        )
    for field, value in changes.items():
        setattr(station, field, value)
    return station


async def members(session: AsyncSession, station_id: uuid.UUID) -> list[tuple[Member, str | None]]:
    stmt = (
        select(Member, User.email)
        .join(User, User.id == Member.user_id)
        .where(Member.station_id == station_id)
        .order_by(Member.created_at)
    )
    return [(m, e) for m, e in (await session.execute(stmt)).all()]


async def add_member(session: AsyncSession, station_id: uuid.UUID, email: str, role: str) -> Member:
    user = await _user_by_email(session, email)
    exists = await session.scalar(
        select(Member.id).where(Member.station_id == station_id, Member.user_id == user.id)
    )
    if exists is not None:
        raise Conflict("That user is already a member.", code="already_member")
    member = Member(station_id=station_id, user_id=user.id, role=role)
    session.add(member)
    await session.flush()
    return member


async def get_member(session: AsyncSession, station_id: uuid.UUID, member_id: uuid.UUID) -> Member:
    member = await session.get(Member, member_id)
    if member is None or member.station_id != station_id:
        raise NotFound("No such member.")
    return member


async def _owners(session: AsyncSession, station_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(Member.station_id == station_id, Member.role == Role.OWNER)
    return int(await session.scalar(stmt) or 0)


async def change_role(session: AsyncSession, member: Member, role: str) -> Member:
    if member.role == Role.OWNER and role != Role.OWNER and await _owners(session, member.station_id) <= 1:
        raise LastOwner("A station keeps at least one owner.")
    member.role = role
    return member


async def remove_member(session: AsyncSession, member: Member) -> None:
    if member.role == Role.OWNER and await _owners(session, member.station_id) <= 1:
        raise LastOwner("A station keeps at least one owner.")
    await session.delete(member)


async def owner_ids(session: AsyncSession, station_id: uuid.UUID) -> list[uuid.UUID]:
    stmt = select(Member.user_id).where(Member.station_id == station_id, Member.role == Role.OWNER)
    return list(await session.scalars(stmt))


# --- channels -------------------------------------------------------------------------------


async def channels(session: AsyncSession, station_id: uuid.UUID) -> list[StationChannel]:
    stmt = select(StationChannel).where(StationChannel.station_id == station_id)
    return list(await session.scalars(stmt.order_by(StationChannel.channel, StationChannel.address)))


async def add_channel(
    session: AsyncSession, station_id: uuid.UUID, channel: str, address: str
) -> StationChannel:
    row = StationChannel(station_id=station_id, channel=channel, address=address)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict("That address already routes to a station.", code="channel_taken") from None
    return row


async def remove_channel(session: AsyncSession, station_id: uuid.UUID, channel: str, address: str) -> None:
    stmt = delete(StationChannel).where(
        StationChannel.station_id == station_id,
        StationChannel.channel == channel,
        StationChannel.address == address,
    )
    result: Any = await session.execute(stmt)
    if result.rowcount == 0:
        raise NotFound("No such channel address.")


async def station_for_address(session: AsyncSession, channel: str, address: str) -> Station | None:
    """The station an inbound message's ``to_address`` belongs to (None: not ours)."""
    stmt = select(Station).join(StationChannel, StationChannel.station_id == Station.id)
    stmt = stmt.where(StationChannel.channel == channel, StationChannel.address == address)
    return (await session.execute(stmt)).scalar_one_or_none()


async def station_by_slug(session: AsyncSession, slug: str) -> Station:
    station = await session.scalar(select(Station).where(Station.slug == slug))
    if station is None:
        raise NotFound("No such station.")
    return station


async def erase_member(session: AsyncSession, user_id: uuid.UUID, settings: Settings) -> None:
    """Account deletion (``AppSpec.erase_user``): the person leaves every station and every thread
    assigned to them is unassigned. What they did stays in the append-only audit trail under
    their (anonymised) user id; the stations' customers are the stations' data, not theirs."""
    await session.execute(
        update(Thread).where(Thread.assigned_user_id == user_id).values(assigned_user_id=None)
    )
    await session.execute(delete(Member).where(Member.user_id == user_id))


async def export_member(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """The person's data export (``AppSpec.export_user``): their station memberships."""
    rows = await session.execute(
        select(Station.name, Station.slug, Member.role)
        .join(Member, Member.station_id == Station.id)
        .where(Member.user_id == user_id)
    )
    return {"stations": [{"name": n, "slug": s, "role": r} for n, s, r in rows.all()]}
