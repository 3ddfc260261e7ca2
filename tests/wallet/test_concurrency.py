"""Real concurrency: many transactions at once against one wallet never overspend or double-pay.

Each operation runs in its own session (its own connection), all started together with
``asyncio.gather``; on PostgreSQL they genuinely overlap and queue on the user row lock.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from sqlalchemy import func, select

from conjure.db import Database
from conjure.settings import Settings
from conjure.users.models import User
from conjure.users.service import create_user
from conjure.wallet import service
from conjure.wallet.models import UserInvite, WalletTransaction
from tests.wallet.helpers import attempt, new_user, problems, wallet_of


async def test_fifty_concurrent_holds_with_three_stars_accept_exactly_three(
    db: Database, settings: Settings
) -> None:
    uid = await new_user(db, settings, stars=3)
    outcomes = await asyncio.gather(
        *(attempt(db, service.hold_stars, uid, 1, job_id=uuid.uuid4()) for _ in range(50))
    )
    assert Counter(outcomes) == {"ok": 3, "insufficient_stars": 47}
    w = await wallet_of(db, uid)
    assert (w.star_balance, w.stars_held, w.available_stars) == (3, 3, 0)
    assert await problems(db) == []


async def test_concurrent_holds_for_one_job_hold_once(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings, stars=10)
    job = uuid.uuid4()
    outcomes = await asyncio.gather(*(attempt(db, service.hold_stars, uid, 2, job_id=job) for _ in range(10)))
    assert set(outcomes) == {"ok"}
    assert (await wallet_of(db, uid)).stars_held == 2


async def test_capture_and_release_racing_settle_the_hold_once(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings, stars=4)
    jobs = [uuid.uuid4() for _ in range(4)]
    for job in jobs:
        assert await attempt(db, service.hold_stars, uid, 1, job_id=job) == "ok"
    racers = [
        attempt(db, settle, job_id=job)
        for job in jobs
        for settle in (service.capture_hold, service.release_hold) * 3
    ]
    assert set(await asyncio.gather(*racers)) == {"ok"}
    w = await wallet_of(db, uid)
    assert w.stars_held == 0
    async with db.session() as session:
        settled = (
            await session.execute(
                select(WalletTransaction.transaction_type).where(
                    WalletTransaction.transaction_type.in_(["capture", "release"])
                )
            )
        ).scalars()
        kinds = Counter(settled)
    assert sum(kinds.values()) == 4  # one outcome per job, whichever won
    assert w.star_balance == 4 - kinds["capture"]
    assert await problems(db) == []


async def test_twenty_concurrent_exchanges_never_overdraw_coins(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings, coins=7 * settings.coins_per_star + 3)
    outcomes = await asyncio.gather(
        *(attempt(db, service.exchange_coins, settings, uid, stars=1) for _ in range(20))
    )
    assert Counter(outcomes) == {"ok": 7, "insufficient_coins": 13}
    w = await wallet_of(db, uid)
    assert (w.star_balance, w.coin_balance) == (7, 3)
    assert await problems(db) == []


async def test_replayed_credit_key_under_concurrency_credits_once(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings)

    async def deliver() -> bool:
        async with db.session() as session:
            return await service.credit(
                session, uid, amount=50, currency="star", tx_type="purchase", idempotency_key="pi_123"
            )

    results = await asyncio.gather(*(deliver() for _ in range(15)))
    assert sorted(results) == [False] * 14 + [True]
    assert (await wallet_of(db, uid)).star_balance == 50
    assert await problems(db) == []


async def test_invite_rewards_paid_once_under_concurrent_signups(db: Database, settings: Settings) -> None:
    async with db.session() as session:
        inviter = await create_user(session, settings, email="inviter@example.com")
        invitees = [await create_user(session, settings, email=f"n{i}@example.com") for i in range(8)]

    async def sign_up(user: User) -> None:
        async with db.session() as session:
            await service.on_signup(session, settings, user, invite_code=inviter.invite_code)

    # Every new user signs up once, and the first one's sign-up is replayed twice at the same time.
    await asyncio.gather(*(sign_up(u) for u in [*invitees, invitees[0], invitees[0]]))
    w = await wallet_of(db, inviter.id)
    assert (w.coin_balance, w.total_invites) == (8 * settings.invite_reward_coins_inviter, 8)
    for user in invitees:
        w = await wallet_of(db, user.id)
        assert (w.star_balance, w.coin_balance) == (
            settings.signup_bonus_stars,
            settings.invite_reward_coins_invitee,
        )
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(UserInvite)) == 8
    assert await problems(db) == []


async def test_two_new_users_inviting_each_other_do_not_deadlock(db: Database, settings: Settings) -> None:
    async with db.session() as session:
        a = await create_user(session, settings, email="a@example.com")
        b = await create_user(session, settings, email="b@example.com")

    async def sign_up(user: User, code: str) -> None:
        async with db.session() as session:
            await service.on_signup(session, settings, user, invite_code=code)

    await asyncio.wait_for(asyncio.gather(sign_up(a, b.invite_code), sign_up(b, a.invite_code)), timeout=30)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(UserInvite)) == 2
    assert await problems(db) == []
