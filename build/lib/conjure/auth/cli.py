"""Operator commands: ``conjure auth create-key``, ``revoke-key`` and ``set-role``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.db import Database, utcnow
from conjure.errors import ConjureError
from conjure.settings import Settings
from conjure.users.models import Role, User
from conjure.users.service import normalize_email

app = typer.Typer(help="API keys and roles.", no_args_is_help=True)
T = TypeVar("T")


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        db = Database(Settings().resolved_database_url, pool_size=2)
        try:
            async with db.session() as session:
                return await work(session)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except ConjureError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None


async def _user(session: AsyncSession, who: str) -> User:
    try:
        user = await session.get(User, uuid.UUID(who))
    except ValueError:
        user = await session.scalar(select(User).where(User.email == normalize_email(who)))
    if user is None:
        raise ConjureError(f"No user {who!r}.")
    return user


@app.command("create-key")
def create_key(
    user: str = typer.Argument(..., help="User id or email."),
    name: str = typer.Option(..., help="What the key is for."),
    rate_limit: str | None = typer.Option(None, help="Its own lower limit, e.g. '10/minute'."),
) -> None:
    """Create an API key for a user and print it (the only time it is shown)."""
    from conjure.auth.apikeys import create_api_key

    async def work(session: AsyncSession) -> str:
        owner = await _user(session, user)
        row, key = await create_api_key(session, owner, name=name, rate_limit=rate_limit)
        typer.echo(f"Created key {row.id} ({row.prefix}) for {owner.email or owner.id}.", err=True)
        return key

    typer.echo(_run(work))


@app.command("revoke-key")
def revoke_key(key_id: uuid.UUID = typer.Argument(..., help="The key's id.")) -> None:
    """Revoke an API key at once."""
    from conjure.auth.models import ApiKey

    async def work(session: AsyncSession) -> None:
        row = await session.get(ApiKey, key_id)
        if row is None:
            raise ConjureError(f"No API key {key_id}.")
        row.revoked_at = row.revoked_at or utcnow()

    _run(work)
    typer.echo(f"Revoked {key_id}.")


@app.command("set-role")
def set_role(
    user: str = typer.Argument(..., help="User id or email."),
    role: Role = typer.Argument(..., help="user or admin."),
) -> None:
    """Make a user an admin, or a plain user again."""

    async def work(session: AsyncSession) -> None:
        (await _user(session, user)).role = role

    _run(work)
    typer.echo(f"{user} is now {role.value}.")
