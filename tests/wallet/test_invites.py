"""Invite rewards are capped per inviter per day and in total, and bursts flagged for the admin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select

from conjure.db import Database
from conjure.kit.paging import PageParams
from conjure.settings import Settings
from conjure.users.models import User
from conjure.users.service import create_user
from conjure.wallet import invites, service
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


async def _flags(db: Database) -> list[str | None]:
    async with db.session() as session:
        rows = await session.scalars(select(UserInvite.flag).order_by(UserInvite.created_at, UserInvite.id))
        return list(rows)


async def test_bursts_and_caps_are_flagged_for_the_admin(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        database_url=db.url, invite_burst_threshold=2, invite_rewards_per_day=3, invite_rewards_max=100
    )
    inviter, calm = await sign_up(db, settings), await sign_up(db, settings)
    for _ in range(4):
        await sign_up(db, settings, inviter.invite_code)
    await sign_up(db, settings, calm.invite_code)
    async with db.session() as session:
        by_inviter = (
            await session.execute(
                select(UserInvite.inviter_id, UserInvite.flag, UserInvite.coins_inviter).order_by(
                    UserInvite.created_at
                )
            )
        ).all()
    # Two within the window are fine; the third is a burst (still paid); the fourth hit the daily cap.
    assert [(f, c) for i, f, c in by_inviter if i == inviter.id] == [
        (None, 10),
        (None, 10),
        ("burst", 10),
        ("cap_per_day", 0),
    ]
    assert [f for i, f, _ in by_inviter if i == calm.id] == [None]

    async with db.session() as session:
        items, total = await invites.flagged_inviters(session, PageParams())
    assert total == 1
    assert [(x.inviter_id, x.flagged_invites, x.reasons, x.total_invites) for x in items] == [
        (inviter.id, 2, ["burst", "cap_per_day"], 4)
    ]


async def test_the_total_cap_is_flagged_and_a_slow_trickle_is_not(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url=db.url, invite_burst_threshold=1, invite_rewards_max=1)
    inviter = await sign_up(db, settings)
    await sign_up(db, settings, inviter.invite_code)
    async with db.session() as session:  # the first invite is old news, outside the burst window
        for row in (await session.scalars(select(UserInvite))).all():
            row.created_at -= dt.timedelta(days=2)
    await sign_up(db, settings, inviter.invite_code)
    assert await _flags(db) == [None, "cap_total"]
    assert await problems(db) == []
