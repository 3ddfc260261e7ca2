"""Operator commands: ``conjure wallet check`` and ``conjure wallet grant``."""

from __future__ import annotations

import asyncio
import uuid

import typer
from sqlalchemy import select

from conjure.db import Database
from conjure.settings import Settings
from conjure.users.models import User
from conjure.users.service import normalize_email

app = typer.Typer(help="Stars, coins and the ledger.", no_args_is_help=True)


@app.command()
def check() -> None:
    """Verify every wallet: balance == ledger sum, unbroken balance_after chain, held == open holds."""
    from conjure.wallet.service import check_consistency

    async def run() -> list[str]:
        db = Database(Settings().resolved_database_url, pool_size=2)
        try:
            async with db.session() as session:
                return [str(p) for p in await check_consistency(session)]
        finally:
            await db.dispose()

    problems = asyncio.run(run())
    for problem in problems:
        typer.echo(problem)
    if problems:
        typer.echo(f"{len(problems)} problem(s) found.", err=True)
        raise typer.Exit(1)
    typer.echo("All wallets are consistent.")


async def _find_user_id(session: object, who: str) -> uuid.UUID | None:
    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession)
    try:
        return uuid.UUID(who)
    except ValueError:
        found: uuid.UUID | None = await session.scalar(
            select(User.id).where(User.email == normalize_email(who))
        )
        return found


@app.command()
def grant(
    user: str = typer.Argument(..., help="User id or email."),
    amount: int = typer.Argument(..., help="Positive grants, negative revokes (write `-- -5`)."),
    currency: str = typer.Option("star", help="star or coin."),
    reason: str = typer.Option(..., help="Why; kept in the ledger."),
) -> None:
    """Grant or revoke stars or coins for one user, recorded in the ledger with the reason."""
    from conjure.errors import ConjureError
    from conjure.wallet.service import get_wallet
    from conjure.wallet.service import grant as grant_currency

    async def run() -> str:
        db = Database(Settings().resolved_database_url, pool_size=2)
        try:
            async with db.session() as session:
                user_id = await _find_user_id(session, user)
                if user_id is None:
                    raise ConjureError(f"No user {user!r}.")
                row = await grant_currency(session, user_id, currency=currency, amount=amount, reason=reason)
                wallet = await get_wallet(session, user_id)
            return (
                f"{row.transaction_type} {row.amount} {row.currency} to {user_id}: "
                f"stars {wallet.star_balance} (held {wallet.stars_held}), coins {wallet.coin_balance}"
            )
        finally:
            await db.dispose()

    try:
        typer.echo(asyncio.run(run()))
    except ConjureError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
