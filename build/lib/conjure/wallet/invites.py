"""Invite rewards under caps, so one invite code and a script cannot mint coins without end.

An inviter earns ``INVITE_REWARD_COINS_INVITER`` for at most ``INVITE_REWARDS_PER_DAY``
invitees in any 24 hours and ``INVITE_REWARDS_MAX`` in all. Past a cap the invite is still
linked (the invitee keeps their own welcome coins, ``total_invites`` still counts) but the
inviter earns nothing for it, the ``user_invites`` row records 0 coins, and the burst is
logged (``invite_rewards_capped``) for the operator. Callers hold the inviter's row lock, so
concurrent sign-ups with one code count each other.

Suspicious waves are flagged on the invite's row for the admin console (:func:`flagged_inviters`):
a cap reached, or more than ``INVITE_BURST_THRESHOLD`` rewarded invitees within
``INVITE_BURST_WINDOW_SECONDS`` (a burst still pays while under the caps: a flag asks a person
to look, it decides nothing).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.db import utcnow
from conjure.kit.paging import PageParams
from conjure.settings import Settings
from conjure.users.models import User
from conjure.wallet.models import UserInvite

log = structlog.get_logger("conjure.wallet.invites")

DAY = dt.timedelta(days=1)


class InviteFlag(enum.StrEnum):
    """Why an invite was flagged for the admin (``user_invites.flag``)."""

    BURST = "burst"
    CAP_PER_DAY = "cap_per_day"
    CAP_TOTAL = "cap_total"


@dataclass(frozen=True)
class InviteReward:
    """What the inviter earns for one more invitee, and the flag the invite row gets."""

    coins: int
    flag: InviteFlag | None = None


async def inviter_reward(session: AsyncSession, settings: Settings, inviter_id: uuid.UUID) -> InviteReward:
    """The inviter's coins for one more invitee (0 once a cap is reached) and its flag, if any."""
    coins = settings.invite_reward_coins_inviter
    if coins <= 0:
        return InviteReward(0)
    rewarded = select(func.count()).select_from(UserInvite)
    rewarded = rewarded.where(UserInvite.inviter_id == inviter_id, UserInvite.coins_inviter > 0)
    total = int(await session.scalar(rewarded) or 0)
    today = int(await session.scalar(rewarded.where(UserInvite.created_at > utcnow() - DAY)) or 0)
    if total >= settings.invite_rewards_max or today >= settings.invite_rewards_per_day:
        cap = InviteFlag.CAP_TOTAL if total >= settings.invite_rewards_max else InviteFlag.CAP_PER_DAY
        log.warning(
            "invite_rewards_capped", inviter_id=str(inviter_id), cap=cap.value, today=today, total=total
        )
        return InviteReward(0, cap)
    window = dt.timedelta(seconds=settings.invite_burst_window_seconds)
    recent = int(await session.scalar(rewarded.where(UserInvite.created_at > utcnow() - window)) or 0)
    if recent + 1 > settings.invite_burst_threshold:  # this invitee included
        log.warning(
            "invite_burst",
            inviter_id=str(inviter_id),
            within_seconds=settings.invite_burst_window_seconds,
            count=recent + 1,
        )
        return InviteReward(coins, InviteFlag.BURST)
    return InviteReward(coins)


@dataclass(frozen=True)
class FlaggedInviter:
    """One inviter with flagged invites, for the admin console."""

    inviter_id: uuid.UUID
    email: str | None
    flagged_invites: int
    total_invites: int
    reasons: list[str]
    last_flagged_at: dt.datetime


async def flagged_inviters(session: AsyncSession, page: PageParams) -> tuple[list[FlaggedInviter], int]:
    """Inviters with any flagged invite, most recently flagged first, and how many there are."""
    flagged = UserInvite.flag.is_not(None)
    total = int(
        await session.scalar(select(func.count(func.distinct(UserInvite.inviter_id))).where(flagged)) or 0
    )
    last = func.max(UserInvite.created_at).label("last")
    stmt = (
        select(UserInvite.inviter_id, func.count().label("n"), last)
        .where(flagged)
        .group_by(UserInvite.inviter_id)
        .order_by(last.desc(), UserInvite.inviter_id)
        .limit(page.limit)
        .offset(page.offset)
    )
    rows = (await session.execute(stmt)).all()
    ids = [r.inviter_id for r in rows]
    users = {u.id: u for u in (await session.scalars(select(User).where(User.id.in_(ids)))).all()}
    reason_rows = await session.execute(
        select(UserInvite.inviter_id, UserInvite.flag)
        .where(flagged, UserInvite.inviter_id.in_(ids))
        .distinct()
    )
    reasons: dict[uuid.UUID, set[str]] = {}
    for inviter_id, flag in reason_rows:
        reasons.setdefault(inviter_id, set()).add(str(flag))
    items = [
        FlaggedInviter(
            inviter_id=r.inviter_id,
            email=users[r.inviter_id].email if r.inviter_id in users else None,
            flagged_invites=int(r.n),
            total_invites=users[r.inviter_id].total_invites if r.inviter_id in users else 0,
            reasons=sorted(reasons.get(r.inviter_id, set())),
            last_flagged_at=r.last,
        )
        for r in rows
    ]
    return items, total
