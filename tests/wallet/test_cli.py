"""``conjure wallet check`` and ``conjure wallet grant`` against a real database."""

from __future__ import annotations

import asyncio
import uuid

from click.testing import Result
from sqlalchemy import update
from typer.testing import CliRunner

from conjure.cli import app
from conjure.db import Database
from conjure.settings import Settings
from conjure.users.models import User
from conjure.wallet import service
from conjure.wallet.models import WalletTransaction
from tests.wallet.helpers import new_user, tamper_with_ledger, wallet_of


async def conjure(db_url: str, *args: str) -> Result:
    """Run the real command line in a thread (it runs its own event loop), pointed at this database."""
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, app, list(args), env={"DATABASE_URL": db_url})


async def test_check_passes_then_finds_each_corruption(db: Database, settings: Settings, db_url: str) -> None:
    healthy = await new_user(db, settings, stars=3, coins=10)
    balance_off, chain_off, held_off = [await new_user(db, settings, stars=2, coins=4) for _ in range(3)]
    for uid in (healthy, held_off):
        async with db.session() as session:
            await service.hold_stars(session, uid, 1, job_id=uuid.uuid4())

    result = await conjure(db_url, "wallet", "check")
    assert result.exit_code == 0, result.output
    assert "consistent" in result.output

    async with db.session() as session:
        await session.execute(
            update(User).where(User.id == balance_off).values(star_balance=User.star_balance + 5)
        )
        await tamper_with_ledger(
            session,
            update(WalletTransaction)
            .where(WalletTransaction.user_id == chain_off, WalletTransaction.currency == "coin")
            .values(balance_after=99),
        )
        await session.execute(update(User).where(User.id == held_off).values(stars_held=0))

    result = await conjure(db_url, "wallet", "check")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"user {balance_off}: star_balance 7 != ledger sum 2" in lines
    assert any(line.startswith(f"user {chain_off}: coin chain broken at seq 2") for line in lines)
    assert f"user {held_off}: stars_held 0 != open holds 1" in lines
    assert not any(str(healthy) in line for line in lines)
    assert "3 problem(s) found." in result.stderr


async def test_grant_by_email_or_id(db: Database, settings: Settings, db_url: str) -> None:
    uid = await new_user(db, settings, stars=1)
    async with db.session() as session:
        user = await session.get(User, uid)
        assert user is not None
        email = str(user.email)

    result = await conjure(db_url, "wallet", "grant", email.upper(), "4", "--reason", "contest prize")
    assert result.exit_code == 0, result.output
    assert f"grant 4 star to {uid}: stars 5" in result.stdout
    result = await conjure(
        db_url, "wallet", "grant", str(uid), "--currency", "coin", "--reason", "x", "--", "7"
    )
    assert result.exit_code == 0, result.output
    result = await conjure(db_url, "wallet", "grant", str(uid), "--reason", "abuse", "--", "-2")
    assert result.exit_code == 0, result.output
    assert "revoke -2 star" in result.stdout

    result = await conjure(db_url, "wallet", "grant", str(uid), "--reason", "too much", "--", "-9")
    assert result.exit_code == 1
    assert "Cannot revoke 9 star" in result.stderr
    result = await conjure(db_url, "wallet", "grant", "nobody@example.com", "1", "--reason", "x")
    assert result.exit_code == 1
    assert "No user" in result.stderr

    w = await wallet_of(db, uid)
    assert (w.star_balance, w.coin_balance) == (3, 7)
    result = await conjure(db_url, "wallet", "check")
    assert result.exit_code == 0, result.output
