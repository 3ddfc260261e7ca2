"""The wallet's rules, one operation at a time, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from conjure.db import Database
from conjure.settings import Settings
from conjure.users.models import User
from conjure.users.service import create_user
from conjure.wallet import service
from conjure.wallet.models import UserInvite, WalletTransaction
from tests.wallet.helpers import attempt, new_user, problems, wallet_of


async def ledger(db: Database, user_id: uuid.UUID) -> list[WalletTransaction]:
    async with db.session() as session:
        return list(reversed(await service.list_transactions(session, user_id, limit=100)))


async def test_hold_capture_and_release_move_stars_once(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings, stars=5)
    job_a, job_b = uuid.uuid4(), uuid.uuid4()
    for _ in range(2):  # the second round proves every step is idempotent
        assert await attempt(db, service.hold_stars, uid, 2, job_id=job_a) == "ok"
        assert await attempt(db, service.hold_stars, uid, 3, job_id=job_b) == "ok"
    w = await wallet_of(db, uid)
    assert (w.star_balance, w.stars_held, w.available_stars) == (5, 5, 0)
    assert await attempt(db, service.hold_stars, uid, 1, job_id=uuid.uuid4()) == "insufficient_stars"

    for _ in range(2):
        assert await attempt(db, service.capture_hold, job_id=job_a) == "ok"
        assert await attempt(db, service.release_hold, job_id=job_b) == "ok"
    # Once settled, the other outcome changes nothing either.
    assert await attempt(db, service.release_hold, job_id=job_a) == "ok"
    assert await attempt(db, service.capture_hold, job_id=job_b) == "ok"
    w = await wallet_of(db, uid)
    assert (w.star_balance, w.stars_held, w.available_stars) == (3, 0, 3)

    types = [
        (r.transaction_type, r.amount, r.held_change, r.balance_after, r.held_after)
        for r in await ledger(db, uid)
    ]
    assert types == [
        ("grant", 5, 0, 5, 0),
        ("hold", 0, 2, 5, 2),
        ("hold", 0, 3, 5, 5),
        ("capture", -2, -2, 3, 3),
        ("release", 0, -3, 3, 0),
    ]
    assert await problems(db) == []


async def test_hold_of_zero_and_settling_unknown_jobs_are_no_ops(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings)
    job = uuid.uuid4()
    assert await attempt(db, service.hold_stars, uid, 0, job_id=job) == "ok"
    assert await attempt(db, service.capture_hold, job_id=job) == "ok"
    assert await attempt(db, service.release_hold, job_id=uuid.uuid4()) == "ok"
    assert await attempt(db, service.hold_stars, uid, 1, job_id=job) == "insufficient_stars"
    assert await ledger(db, uid) == []


async def test_insufficient_stars_is_a_402_problem_with_amounts(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings, stars=1)
    with pytest.raises(service.InsufficientStars) as info:
        async with db.session() as session:
            await service.hold_stars(session, uid, 2, job_id=uuid.uuid4())
    assert (info.value.status, info.value.code) == (402, "insufficient_stars")
    assert info.value.extra == {"required": 2, "available": 1}


async def test_credit_applies_each_key_exactly_once(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings)
    payment = uuid.uuid4()
    results = []
    for _ in range(3):
        async with db.session() as session:
            results.append(
                await service.credit(
                    session, uid, amount=7, currency="star", tx_type="purchase",
                    idempotency_key=f"payment:{payment}", payment_id=payment, metadata={"package": "p1"},
                )
            )  # fmt: skip
    assert results == [True, False, False]
    assert (await wallet_of(db, uid)).star_balance == 7
    (row,) = await ledger(db, uid)
    assert (row.related_payment_id, row.meta) == (payment, {"package": "p1"})


async def test_credit_rejects_bad_amounts_and_currencies(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings)
    for amount, currency in ((0, "star"), (-1, "coin"), (1, "gold")):
        code = await attempt(
            db, service.credit, uid, amount=amount, currency=currency, tx_type="grant", idempotency_key="k"
        )
        assert code == "validation_error"


async def test_clawback_may_go_negative_and_is_flagged(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings, stars=5)
    async with db.session() as session:
        assert await service.clawback_stars(session, uid, amount=3, idempotency_key="refund:1")
    async with db.session() as session:
        assert await service.clawback_stars(session, uid, amount=4, idempotency_key="refund:2")
        assert not await service.clawback_stars(session, uid, amount=4, idempotency_key="refund:2")
    assert (await wallet_of(db, uid)).star_balance == -2
    rows = await ledger(db, uid)
    assert [(r.amount, r.flagged) for r in rows[1:]] == [(-3, False), (-4, True)]
    assert await problems(db) == []  # negative, but explained by a flagged clawback
    assert await attempt(db, service.hold_stars, uid, 1, job_id=uuid.uuid4()) == "insufficient_stars"


async def test_grant_and_revoke_keep_the_reason(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings, coins=10)
    admin = uuid.uuid4()
    async with db.session() as session:
        row = await service.grant(session, uid, currency="star", amount=4, reason="apology", actor_id=admin)
        assert (row.transaction_type, row.meta) == ("grant", {"reason": "apology", "actor_id": str(admin)})
        row = await service.grant(session, uid, currency="coin", amount=-10, reason="abuse")
        assert row.transaction_type == "revoke"
    assert (
        await attempt(db, service.grant, uid, currency="coin", amount=-1, reason="x") == "insufficient_coins"
    )
    assert await attempt(db, service.grant, uid, currency="star", amount=0, reason="x") == "validation_error"
    assert await attempt(db, service.grant, uid, currency="star", amount=1, reason=" ") == "validation_error"
    assert (
        await attempt(db, service.grant, uuid.uuid4(), currency="star", amount=1, reason="x") == "not_found"
    )
    w = await wallet_of(db, uid)
    assert (w.star_balance, w.coin_balance) == (4, 0)


async def test_revoke_cannot_take_held_stars(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings, stars=3)
    assert await attempt(db, service.hold_stars, uid, 2, job_id=uuid.uuid4()) == "ok"
    assert (
        await attempt(db, service.grant, uid, currency="star", amount=-2, reason="x") == "insufficient_stars"
    )
    assert await attempt(db, service.grant, uid, currency="star", amount=-1, reason="x") == "ok"
    assert await problems(db) == []


async def test_exchange_coins_for_stars(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings, coins=25)
    async with db.session() as session:
        result = await service.exchange_coins(session, settings, uid, stars=2)
    assert (result.stars, result.coins_spent) == (2, 20)
    assert (result.wallet.star_balance, result.wallet.coin_balance) == (2, 5)
    with pytest.raises(service.InsufficientCoins):
        async with db.session() as session:
            await service.exchange_coins(session, settings, uid, stars=1)
    assert await attempt(db, service.exchange_coins, settings, uid, stars=0) == "validation_error"
    assert await problems(db) == []


async def _sign_up(db: Database, settings: Settings, invite_code: str | None) -> User:
    async with db.session() as session:
        user = await create_user(session, settings, email=f"{uuid.uuid4().hex[:10]}@example.com")
        await service.on_signup(session, settings, user, invite_code=invite_code)
        return user


async def test_signup_bonus_and_invite_rewards(db: Database, settings: Settings) -> None:
    inviter = await _sign_up(db, settings, None)
    invitee = await _sign_up(db, settings, f"  {inviter.invite_code.lower()} ")
    w_inviter, w_invitee = await wallet_of(db, inviter.id), await wallet_of(db, invitee.id)
    assert (w_inviter.star_balance, w_inviter.coin_balance, w_inviter.total_invites) == (3, 10, 1)
    assert (w_invitee.star_balance, w_invitee.coin_balance) == (3, 5)
    # Calling it again (e.g. a retried first sight) pays nothing more.
    async with db.session() as session:
        again = await session.get(User, invitee.id)
        assert again is not None
        assert again.invited_by == inviter.id
        await service.on_signup(session, settings, again, invite_code=inviter.invite_code)
    assert (await wallet_of(db, inviter.id)).coin_balance == 10
    assert (await wallet_of(db, invitee.id)).star_balance == 3
    assert await problems(db) == []


async def test_no_reward_for_yourself_or_unknown_codes(db: Database, settings: Settings) -> None:
    async with db.session() as session:
        user = await create_user(session, settings, email="self@example.com")
        await service.on_signup(session, settings, user, invite_code=user.invite_code)
        await service.on_signup(session, settings, user, invite_code="NOSUCHCODE")
        invites = (await session.execute(select(UserInvite))).scalars().all()
    assert invites == []
    w = await wallet_of(db, user.id)
    assert (w.star_balance, w.coin_balance, w.total_invites) == (3, 0, 0)


async def test_bonus_zero_turns_it_off(db: Database, make_settings: object, db_url: str) -> None:
    assert callable(make_settings)
    quiet: Settings = make_settings(database_url=db_url, signup_bonus_stars=0)
    user = await _sign_up(db, quiet, None)
    assert (await wallet_of(db, user.id)).star_balance == 0
    assert await ledger(db, user.id) == []


async def test_transactions_are_paged_newest_first(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings)
    for i in range(5):
        async with db.session() as session:
            await service.credit(
                session, uid, amount=i + 1, currency="coin", tx_type="grant", idempotency_key=f"k{i}"
            )
    async with db.session() as session:
        first = await service.list_transactions(session, uid, limit=2)
        second = await service.list_transactions(session, uid, limit=2, before=first[-1].seq)
        last = await service.list_transactions(session, uid, limit=2, before=second[-1].seq)
    assert [r.amount for r in first + second + last] == [5, 4, 3, 2, 1]
