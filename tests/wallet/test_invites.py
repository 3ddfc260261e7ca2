"""Invite rewards are capped per inviter per day and in total (sign-ups per IP: tests/ratelimit)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select

from conjure.db import Database
from conjure.settings import Settings
from conjure.users.models import User
from conjure.users.service import create_user
from conjure.wallet import service
from conjure.wallet.models import UserInvite
from tests.wallet.helpers import problems, wallet_of


async def sign_up(db: Database, settings: Settings, invite_code: str | None = None) -> User:
    async with db.session() as session:
        user = await create_user(session, settings, email=None)
        await service.on_signup(session, settings, user, invite_code=invite_code)
    return user


async def test_an_inviter_earns_up_to_the_caps(db: Database, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(database_url=db.url, invite_rewards_per_day=2, invite_rewards_max=3)
    inviter = await sign_up(db, settings)
    invitees = [await sign_up(db, settings, inviter.invite_code) for _ in range(3)]

    wallet = await wallet_of(db, inviter.id)
    assert (wallet.coin_balance, wallet.total_invites) == (2 * 10, 3)  # the third was past the daily cap
    for invitee in invitees:  # every invitee keeps their own welcome coins
        assert (await wallet_of(db, invitee.id)).coin_balance == 5
    async with db.session() as session:
        rows = (await session.execute(select(UserInvite).order_by(UserInvite.created_at))).scalars().all()
        assert [r.coins_inviter for r in rows] == [10, 10, 0]
        # A day later the daily cap has room again; the total cap (3) still stops the fifth.
        for row in rows:
            row.created_at -= dt.timedelta(days=1)
    await sign_up(db, settings, inviter.invite_code)
    await sign_up(db, settings, inviter.invite_code)
    wallet = await wallet_of(db, inviter.id)
    assert (wallet.coin_balance, wallet.total_invites) == (3 * 10, 5)
    assert await problems(db) == []


async def test_caps_of_zero_turn_inviter_rewards_off(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url=db.url, invite_rewards_max=0)
    inviter = await sign_up(db, settings)
    await sign_up(db, settings, inviter.invite_code)
    assert (await wallet_of(db, inviter.id)).coin_balance == 0
