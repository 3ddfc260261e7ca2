"""Invite rewards under caps, so one invite code and a script cannot mint coins without end.

An inviter earns ``INVITE_REWARD_COINS_INVITER`` for at most ``INVITE_REWARDS_PER_DAY``
invitees in any 24 hours and ``INVITE_REWARDS_MAX`` in all. Past a cap the invite is still
linked (the invitee keeps their own welcome coins, ``total_invites`` still counts) but the
inviter earns nothing for it, the ``user_invites`` row records 0 coins, and the burst is
logged (``invite_rewards_capped``) for the operator. Callers hold the inviter's row lock, so
concurrent sign-ups with one code count each other.
"""

from __future__ import annotations

import datetime as dt
import uuid

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.db import utcnow
from conjure.settings import Settings
from conjure.wallet.models import UserInvite

log = structlog.get_logger("conjure.wallet.invites")

DAY = dt.timedelta(days=1)


async def inviter_reward(session: AsyncSession, settings: Settings, inviter_id: uuid.UUID) -> int:
    """Coins the inviter earns for one more invitee: the setting's, or 0 once a cap is reached."""
    coins = settings.invite_reward_coins_inviter
    if coins <= 0:
        return 0
    rewarded = select(func.count()).select_from(UserInvite)
    rewarded = rewarded.where(UserInvite.inviter_id == inviter_id, UserInvite.coins_inviter > 0)
    total = int(await session.scalar(rewarded) or 0)
    today = int(await session.scalar(rewarded.where(UserInvite.created_at > utcnow() - DAY)) or 0)
    if total >= settings.invite_rewards_max or today >= settings.invite_rewards_per_day:
        cap = "total" if total >= settings.invite_rewards_max else "per_day"
        log.warning("invite_rewards_capped", inviter_id=str(inviter_id), cap=cap, today=today, total=total)
        return 0
    return coins
