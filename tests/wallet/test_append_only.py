"""The ledger is append-only in the database: UPDATE, DELETE and TRUNCATE are refused for every role."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.db import Database
from conjure.settings import Settings
from conjure.users.models import User
from conjure.wallet import service
from conjure.wallet.models import WalletTransaction
from tests.wallet.helpers import new_user, problems, wallet_of


async def ledger_rows(db: Database, user_id: uuid.UUID) -> list[tuple[int, int, int]]:
    async with db.session() as session:
        stmt = select(WalletTransaction.seq, WalletTransaction.amount, WalletTransaction.balance_after)
        stmt = stmt.where(WalletTransaction.user_id == user_id).order_by(WalletTransaction.seq)
        return [tuple(row) for row in (await session.execute(stmt)).all()]


async def refused(db: Database, sql: str, **params: object) -> str:
    """Run one raw statement in its own transaction; the database's error message, or fail."""
    with pytest.raises(DBAPIError) as caught:
        async with db.session() as session:
            await session.execute(text(sql), params)
    return str(caught.value.orig)


async def in_transaction(db: Database, work: Callable[[AsyncSession], Awaitable[None]]) -> None:
    async with db.session() as session:
        await work(session)


async def test_update_and_delete_of_ledger_rows_are_refused(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings, stars=5, coins=3)
    before = await ledger_rows(db, uid)
    assert len(before) == 2

    # Every shape an UPDATE can take: raw SQL on one column, on all rows, and through the ORM.
    message = await refused(db, "UPDATE wallet_transactions SET amount = 500")
    assert "append-only" in message
    assert "compensating row" in message
    await refused(db, "UPDATE wallet_transactions SET flagged = true WHERE seq = 1")
    await refused(db, "DELETE FROM wallet_transactions WHERE seq = 2")
    await refused(db, "DELETE FROM wallet_transactions")

    async def edit_through_the_orm(session: AsyncSession) -> None:
        row = await session.scalar(select(WalletTransaction).where(WalletTransaction.user_id == uid))
        assert row is not None
        row.balance_after = 1_000_000

    async def delete_through_the_orm(session: AsyncSession) -> None:
        await session.execute(delete(WalletTransaction).where(WalletTransaction.user_id == uid))

    for work in (edit_through_the_orm, delete_through_the_orm):
        with pytest.raises(DBAPIError):
            await in_transaction(db, work)

    assert await ledger_rows(db, uid) == before
    assert await problems(db) == []


async def test_truncate_is_refused_on_postgres(db: Database, settings: Settings) -> None:
    uid = await new_user(db, settings, stars=1)
    if db.is_sqlite:
        # SQLite has no TRUNCATE; its "DELETE FROM t" (no WHERE) fires the row triggers.
        await refused(db, "DELETE FROM wallet_transactions")
    else:
        assert "append-only" in await refused(db, "TRUNCATE wallet_transactions")
        assert "append-only" in await refused(db, "TRUNCATE users CASCADE")
    assert len(await ledger_rows(db, uid)) == 1


async def test_appending_still_works_and_a_compensating_row_corrects(
    db: Database, settings: Settings
) -> None:
    uid = await new_user(db, settings, stars=2)
    job_id = uuid.uuid4()
    async with db.session() as session:  # hold → capture: the job engine's rows are inserts only
        await service.hold_stars(session, uid, 1, job_id=job_id)
        await service.capture_hold(session, job_id=job_id)
    async with db.session() as session:  # an operator granted 10 by mistake…
        await service.grant(session, uid, currency="star", amount=10, reason="contest prize")
    async with db.session() as session:  # …and takes them back with a compensating row
        await service.grant(session, uid, currency="star", amount=-10, reason="correct grant of 10 (typo)")

    assert (await wallet_of(db, uid)).star_balance == 1
    assert [amount for _, amount, _ in await ledger_rows(db, uid)] == [2, 0, -1, 10, -10]
    assert await problems(db) == []


async def test_deleting_an_account_takes_its_ledger_with_it(db: Database, settings: Settings) -> None:
    leaving, staying = await new_user(db, settings, stars=4), await new_user(db, settings, stars=7)
    async with db.session() as session:
        await session.execute(delete(User).where(User.id == leaving))

    assert await ledger_rows(db, leaving) == []
    assert len(await ledger_rows(db, staying)) == 1
    async with db.session() as session:
        total = await session.scalar(select(func.count()).select_from(WalletTransaction))
    assert total == 1
    # Deleting the survivor's rows directly is still refused.
    await refused(db, "DELETE FROM wallet_transactions")
    assert await problems(db) == []
