"""The wallet's two primitives: lock a user's row, and append one ledger row with its balance change.

Every other wallet module (holds, credits, grants) goes through these two, so the chain
(``seq``, ``balance_after``, ``held_after``) is written in exactly one place.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.errors import NotFound
from conjure.observability.metrics import WALLET_TRANSACTIONS
from conjure.users.models import User
from conjure.wallet.models import Currency, WalletTransaction


async def lock_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    """The user row, locked for this transaction, with fresh balances; every money change starts here."""
    stmt = (
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # fresh balances, not the identity map's copy
    )
    user = (await session.execute(stmt)).scalar_one_or_none()
    if user is None:
        raise NotFound("No such user.")
    return user


async def key_exists(session: AsyncSession, key: str) -> bool:
    stmt = select(WalletTransaction.id).where(WalletTransaction.idempotency_key == key)
    return (await session.execute(stmt)).first() is not None


async def record(
    session: AsyncSession,
    user: User,
    *,
    tx_type: str,
    currency: str,
    amount: int,
    key: str,
    held_change: int = 0,
    job_id: uuid.UUID | None = None,
    payment_id: uuid.UUID | None = None,
    meta: dict[str, Any] | None = None,
    flagged: bool = False,
) -> WalletTransaction:
    """Apply a change to the (locked) user row and append its ledger row."""
    user.ledger_seq += 1
    if currency == Currency.STAR:
        user.star_balance += amount
        user.stars_held += held_change
        balance_after = user.star_balance
    else:
        user.coin_balance += amount
        balance_after = user.coin_balance
    row = WalletTransaction(
        user_id=user.id,
        seq=user.ledger_seq,
        transaction_type=str(tx_type),
        amount=amount,
        currency=str(currency),
        balance_after=balance_after,
        held_change=held_change,
        held_after=user.stars_held,
        meta=meta,
        related_payment_id=payment_id,
        related_job_id=job_id,
        idempotency_key=key,
        flagged=flagged,
    )
    session.add(row)
    await session.flush()
    WALLET_TRANSACTIONS.labels(str(tx_type), str(currency)).inc()
    return row
