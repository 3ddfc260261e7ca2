"""Credit grants: spent before bought stars (earliest expiry first), written off at expiry by a ledger row,
kept for open holds, clawed back unspent, and verified by ``conjure wallet check``."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update

from conjure.db import Database, utcnow
from conjure.settings import Settings
from conjure.wallet import grants, service
from conjure.wallet.models import CreditGrant, WalletTransaction
from tests.wallet.helpers import new_user, problems, wallet_of

DAY = dt.timedelta(days=1)


async def _grant(db: Database, user_id: uuid.UUID, source: str, amount: int, expires: dt.datetime) -> None:
    async with db.session() as session:
        assert await grants.grant_allowance(
            session, user_id, source_key=source, amount=amount, expires_at=expires
        )


async def _spend(db: Database, user_id: uuid.UUID, stars: int, *, capture: bool = True) -> uuid.UUID:
    job_id = uuid.uuid4()
    async with db.session() as session:
        await service.hold_stars(session, user_id, stars, job_id=job_id)
    if capture:
        async with db.session() as session:
            await service.capture_hold(session, job_id=job_id)
    return job_id


async def _grants(db: Database, user_id: uuid.UUID) -> dict[str, CreditGrant]:
    async with db.session() as session:
        rows = await session.execute(select(CreditGrant).where(CreditGrant.user_id == user_id))
        return {g.source_key: g for g in rows.scalars()}


async def test_granted_once_per_source(db: Database, settings: Settings) -> None:
    user_id = await new_user(db, settings)
    later = utcnow() + 30 * DAY
    await _grant(db, user_id, "invoice:in_1", 30, later)
    async with db.session() as session:
        again = await grants.grant_allowance(
            session, user_id, source_key="invoice:in_1", amount=30, expires_at=later
        )
    assert again is None
    assert (await wallet_of(db, user_id)).star_balance == 30
    assert await problems(db) == []


async def test_spending_takes_the_earliest_expiring_grant_then_bought_stars(
    db: Database, settings: Settings
) -> None:
    user_id = await new_user(db, settings, stars=5)
    now = utcnow()
    await _grant(db, user_id, "late", 10, now + 20 * DAY)
    await _grant(db, user_id, "soon", 4, now + 2 * DAY)
    await _spend(db, user_id, 6)
    found = await _grants(db, user_id)
    assert (found["soon"].remaining, found["late"].remaining) == (0, 8)
    async with db.session() as session:
        capture = (
            await session.execute(
                select(WalletTransaction).where(WalletTransaction.transaction_type == "capture")
            )
        ).scalar_one()
    assert capture.meta == {"grants": {str(found["soon"].id): 4, str(found["late"].id): 2}}
    await _spend(db, user_id, 10)  # 8 from the grant, then 2 of the 5 bought
    found = await _grants(db, user_id)
    assert found["late"].remaining == 0
    assert (await wallet_of(db, user_id)).star_balance == 3
    assert await problems(db) == []


async def test_expiry_writes_off_the_rest_with_a_ledger_row(db: Database, settings: Settings) -> None:
    user_id = await new_user(db, settings, stars=2)
    now = utcnow()
    await _grant(db, user_id, "invoice:in_old", 30, now + DAY)
    await _grant(db, user_id, "invoice:in_new", 30, now + 31 * DAY)
    await _spend(db, user_id, 12)
    assert await grants.expire_due_grants(db, now=now + DAY) == 18
    assert await grants.expire_due_grants(db, now=now + DAY) == 0  # nothing twice
    found = await _grants(db, user_id)
    old = found["invoice:in_old"]
    assert (old.spent, old.written_off, old.remaining) == (12, 18, 0)
    assert old.expired_at is not None
    assert found["invoice:in_new"].remaining == 30
    async with db.session() as session:
        rows = await session.execute(
            select(WalletTransaction.amount, WalletTransaction.meta).where(
                WalletTransaction.transaction_type == "allowance_expiry"
            )
        )
        written = rows.all()
    assert [(amount, meta["grant_id"]) for amount, meta in written] == [(-18, str(old.id))]
    assert (await wallet_of(db, user_id)).star_balance == 32
    assert await problems(db) == []


async def test_stars_an_open_hold_reserves_wait_for_it(db: Database, settings: Settings) -> None:
    user_id = await new_user(db, settings)
    now = utcnow()
    await _grant(db, user_id, "a", 8, now + DAY)
    captured = await _spend(db, user_id, 5, capture=False)
    released = await _spend(db, user_id, 1, capture=False)
    assert await grants.expire_due_grants(db, now=now + DAY) == 2  # 6 are held
    assert await problems(db) == []
    async with db.session() as session:
        await service.capture_hold(session, job_id=captured)
    async with db.session() as session:
        await service.release_hold(session, job_id=released)
    assert await grants.expire_due_grants(db, now=now + 2 * DAY) == 1  # the released star goes now
    grant = (await _grants(db, user_id))["a"]
    assert (grant.spent, grant.written_off, grant.remaining, grant.expired_at is not None) == (5, 3, 0, True)
    assert (await wallet_of(db, user_id)).star_balance == 0
    assert await problems(db) == []


async def test_clawback_takes_only_the_unspent_part(db: Database, settings: Settings) -> None:
    user_id = await new_user(db, settings, stars=10)
    await _grant(db, user_id, "invoice:in_r", 30, utcnow() + 10 * DAY)
    await _spend(db, user_id, 20)
    async with db.session() as session:
        taken = await grants.claw_back_grant(
            session, "invoice:in_r", target=30, key="allowance_refund:in_r:30"
        )
    assert taken == 10
    async with db.session() as session:
        again = await grants.claw_back_grant(
            session, "invoice:in_r", target=30, key="allowance_refund:in_r:30"
        )
    assert again == 0
    assert (await wallet_of(db, user_id)).star_balance == 10  # the bought stars are untouched
    async with db.session() as session:
        back = await grants.restore_grant(
            session, "invoice:in_r", amount=10, key="allowance_dispute:in_r:won"
        )
    assert back == 10
    assert (await _grants(db, user_id))["invoice:in_r"].remaining == 10
    assert await problems(db) == []


async def test_debits_that_are_not_captures_take_the_shortfall_from_grants(
    db: Database, settings: Settings
) -> None:
    user_id = await new_user(db, settings, stars=3)
    await _grant(db, user_id, "g", 10, utcnow() + 10 * DAY)
    async with db.session() as session:
        await service.grant(session, user_id, currency="star", amount=-5, reason="operator correction")
    assert (await _grants(db, user_id))["g"].remaining == 8  # 3 bought went first, then 2 of the grant
    assert await problems(db) == []


async def test_wallet_check_catches_a_grant_that_does_not_add_up(db: Database, settings: Settings) -> None:
    user_id = await new_user(db, settings, stars=5)
    await _grant(db, user_id, "g", 10, utcnow() + 10 * DAY)
    await _spend(db, user_id, 4)
    assert await problems(db) == []
    async with db.session() as session:
        # Spent moved without a capture naming it (the row still adds up, the ledger does not).
        await session.execute(
            update(CreditGrant).values(spent=CreditGrant.spent + 2, remaining=CreditGrant.remaining - 2)
        )
    found = await problems(db)
    assert any("spent 6 != ledger spends 4" in p for p in found), found
    async with db.session() as session:
        # Written off without its ledger row: the balance would still count those stars.
        await session.execute(
            update(CreditGrant).values(
                written_off=CreditGrant.written_off + 1, remaining=CreditGrant.remaining - 1
            )
        )
    found = await problems(db)
    assert any("written_off 1 != expiry rows 0" in p for p in found), found
    assert any("less spent != remaining" in p for p in found), found
