"""Helpers for the wallet tests: users funded through the ledger, one-transaction operations."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from conjure.db import Database
from conjure.errors import ConjureError
from conjure.settings import Settings
from conjure.users.service import create_user
from conjure.wallet import service


async def new_user(db: Database, settings: Settings, *, stars: int = 0, coins: int = 0) -> uuid.UUID:
    """A user created by the real service, funded through ``credit`` (so the ledger agrees)."""
    async with db.session() as session:
        user = await create_user(session, settings, email=f"{uuid.uuid4().hex[:10]}@example.com")
        for currency, amount in (("star", stars), ("coin", coins)):
            if amount:
                await service.credit(
                    session,
                    user.id,
                    amount=amount,
                    currency=currency,
                    tx_type="grant",
                    idempotency_key=f"seed:{user.id}:{currency}",
                )
        return user.id


async def wallet_of(db: Database, user_id: uuid.UUID) -> service.Wallet:
    async with db.session() as session:
        return await service.get_wallet(session, user_id)


async def problems(db: Database) -> list[str]:
    async with db.session() as session:
        return [str(p) for p in await service.check_consistency(session)]


async def attempt(db: Database, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Run one wallet operation in its own transaction; 'ok' or the error code."""
    try:
        async with db.session() as session:
            await fn(session, *args, **kwargs)
    except ConjureError as exc:
        return exc.code
    return "ok"


async def tamper_with_ledger(session: AsyncSession, statement: Executable) -> None:
    """Run ``statement`` against the ledger with its append-only triggers lifted for the moment.

    What an operator with DDL rights would have to do on purpose; the tests use it to plant
    the corruption ``conjure wallet check`` must find. The triggers are back on return.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("ALTER TABLE wallet_transactions DISABLE TRIGGER USER"))
        await session.execute(statement)
        await session.execute(text("ALTER TABLE wallet_transactions ENABLE TRIGGER USER"))
        return
    found = await session.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table"),
        {"table": "wallet_transactions"},
    )
    triggers = [(str(name), str(sql)) for name, sql in found.all()]
    assert triggers, "the append-only triggers are missing"
    for name, _ in triggers:
        await session.execute(text(f'DROP TRIGGER "{name}"'))
    await session.execute(statement)
    for _, sql in triggers:
        await session.execute(text(sql))
