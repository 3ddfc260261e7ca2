"""Credit grants: stars given with an expiry (a plan's allowance), spent first, written off at the end.

Rules (like Stripe's billing credits or Orb's credit blocks), enforced here and nowhere else:

* **Granted once per source.** :func:`grant_allowance` credits an ``allowance`` ledger row keyed
  ``allowance:<source>`` (e.g. ``allowance:invoice:in_123``) and stores the grant; a second call for
  the same source changes nothing.
* **Spent first, earliest expiry first.** A job's capture takes its stars from the open grants
  in ``expires_at`` order before bought stars (:func:`take_for_capture`); the capture's ledger row
  names what it took in ``metadata.grants``. Holds reserve from the whole balance; the grant is
  chosen when the stars are really spent. Any other debit that would leave fewer stars than the
  grants still claim (an operator's revoke, a package clawback) takes the shortfall from the grants.
* **Written off, not dropped.** At expiry the remainder leaves the balance by an
  ``allowance_expiry`` ledger row (:func:`expire_user_grants`). Stars an open hold is reserving
  (earliest grants first, the order the capture will take them) wait for that hold: a capture
  spends them, a release leaves them to the next sweep.
* **Clawed back when the money goes back.** A refunded or disputed invoice takes back the unspent
  part of its grant (:func:`claw_back_grant`); what is already spent stays spent.

Every function takes the caller's session (never commits) and locks the user row first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.db import Database, utcnow
from conjure.users.models import User
from conjure.wallet.ledger import key_exists, lock_user, record
from conjure.wallet.models import CreditGrant, Currency, TransactionType

BATCH = 200


def allowance_key(source_key: str) -> str:
    """The ledger key of a grant's credit."""
    return f"allowance:{source_key}"


async def grant_allowance(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    source_key: str,
    amount: int,
    expires_at: dt.datetime,
    meta: dict[str, Any] | None = None,
) -> CreditGrant | None:
    """Credit ``amount`` stars expiring at ``expires_at``, once per ``source_key``; None if granted before."""
    if amount <= 0:
        return None
    user = await lock_user(session, user_id)
    key = allowance_key(source_key)
    if await key_exists(session, key):
        return None
    grant = CreditGrant(
        id=uuid.uuid4(),
        user_id=user_id,
        source_key=source_key,
        amount=amount,
        remaining=amount,
        spent=0,
        written_off=0,
        clawed_back=0,
        expires_at=expires_at,
        meta=meta,
    )
    session.add(grant)
    await record(
        session,
        user,
        tx_type=TransactionType.ALLOWANCE,
        currency=Currency.STAR,
        amount=amount,
        key=key,
        meta={**(meta or {}), "grant_id": str(grant.id), "expires_at": expires_at.isoformat()},
    )
    return grant


async def open_grants(session: AsyncSession, user_id: uuid.UUID) -> list[CreditGrant]:
    """The user's grants with stars left, earliest expiry first (the spending order); lock the user first."""
    stmt = (
        select(CreditGrant)
        .where(CreditGrant.user_id == user_id, CreditGrant.remaining > 0)
        .order_by(CreditGrant.expires_at, CreditGrant.id)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


def _take(grants: list[CreditGrant], amount: int) -> dict[str, int]:
    """Take up to ``amount`` from ``grants`` in order, marking it spent; what was taken, by grant id."""
    taken: dict[str, int] = {}
    for grant in grants:
        if amount <= 0:
            break
        part = min(grant.remaining, amount)
        if part > 0:
            grant.remaining -= part
            grant.spent += part
            amount -= part
            taken[str(grant.id)] = part
    return taken


async def take_for_capture(session: AsyncSession, user_id: uuid.UUID, amount: int) -> dict[str, int]:
    """Spend ``amount`` captured stars from the grants first (earliest expiry first); {grant id: stars}."""
    if amount <= 0:
        return {}
    return _take(await open_grants(session, user_id), amount)


async def take_shortfall(session: AsyncSession, user: User, amount: int) -> dict[str, int]:
    """Before a debit of ``amount`` that is not a capture: take from the grants only what bought
    stars cannot cover, so the grants never claim more stars than the balance holds."""
    grants = await open_grants(session, user.id)
    claimed = sum(g.remaining for g in grants)
    shortfall = claimed - max(user.star_balance - amount, 0)
    return _take(grants, min(shortfall, amount)) if shortfall > 0 else {}


async def expire_user_grants(session: AsyncSession, user_id: uuid.UUID, *, now: dt.datetime) -> int:
    """Write off what is left of the user's grants that expired by ``now``; returns the stars written off."""
    user = await lock_user(session, user_id)
    held_left = max(user.stars_held, 0)
    budget = max(user.star_balance - user.stars_held, 0)
    total = 0
    for grant in await open_grants(session, user_id):
        # Open holds will be captured from the earliest grants first: keep those stars for them.
        reserved = min(grant.remaining, held_left)
        held_left -= reserved
        if grant.expires_at > now:
            continue
        write_off = min(grant.remaining - reserved, budget)
        if write_off > 0:
            grant.remaining -= write_off
            grant.written_off += write_off
            budget -= write_off
            total += write_off
            await record(
                session,
                user,
                tx_type=TransactionType.ALLOWANCE_EXPIRY,
                currency=Currency.STAR,
                amount=-write_off,
                key=f"allowance_expiry:{grant.id}:{grant.written_off}",
                meta={"grant_id": str(grant.id), "source": grant.source_key},
            )
        if grant.remaining == 0:
            grant.expired_at = now
    # Grants spent to zero before they expired are closed too, so the sweep stops finding them.
    for grant in await _exhausted_due(session, user_id, now):
        grant.expired_at = now
    return total


async def _exhausted_due(session: AsyncSession, user_id: uuid.UUID, now: dt.datetime) -> list[CreditGrant]:
    stmt = select(CreditGrant).where(
        CreditGrant.user_id == user_id,
        CreditGrant.expired_at.is_(None),
        CreditGrant.remaining == 0,
        CreditGrant.expires_at <= now,
    )
    return list((await session.execute(stmt)).scalars())


async def users_with_due_grants(
    session: AsyncSession, *, now: dt.datetime | None = None, limit: int = BATCH
) -> list[uuid.UUID]:
    """Users holding a grant that expired and is not closed yet."""
    stmt = (
        select(CreditGrant.user_id)
        .where(CreditGrant.expired_at.is_(None), CreditGrant.expires_at <= (now or utcnow()))
        .distinct()
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def lock_grant(session: AsyncSession, source_key: str) -> CreditGrant | None:
    """The grant of this source (after locking its user), or None when none was made."""
    user_id = await session.scalar(select(CreditGrant.user_id).where(CreditGrant.source_key == source_key))
    if user_id is None:
        return None
    await lock_user(session, user_id)
    stmt = (
        select(CreditGrant)
        .where(CreditGrant.source_key == source_key)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def claw_back_grant(session: AsyncSession, source_key: str, *, target: int, key: str) -> int:
    """Take back unspent stars of a grant until ``target`` in all are taken (a refund's share, or all
    of it for a dispute); spent or hold-reserved stars stay. Returns the stars taken now."""
    grant = await lock_grant(session, source_key)
    if grant is None or await key_exists(session, key):
        return 0
    user = await lock_user(session, grant.user_id)
    available = max(user.star_balance - user.stars_held, 0)
    take = min(target - grant.clawed_back, grant.remaining, available)
    if take <= 0:
        return 0
    grant.remaining -= take
    grant.clawed_back += take
    await record(
        session,
        user,
        tx_type=TransactionType.ALLOWANCE_CLAWBACK,
        currency=Currency.STAR,
        amount=-take,
        key=key,
        meta={"grant_id": str(grant.id), "source": grant.source_key},
    )
    return take


async def restore_grant(session: AsyncSession, source_key: str, *, amount: int, key: str) -> int:
    """Give back ``amount`` clawed-back stars to their grant (a dispute won); expiry still applies."""
    grant = await lock_grant(session, source_key)
    if grant is None or amount <= 0 or await key_exists(session, key):
        return 0
    amount = min(amount, grant.clawed_back)
    if amount <= 0:
        return 0
    user = await lock_user(session, grant.user_id)
    grant.clawed_back -= amount
    grant.remaining += amount
    grant.expired_at = None  # the next sweep writes it off again if it has expired
    await record(
        session,
        user,
        tx_type=TransactionType.ALLOWANCE,
        currency=Currency.STAR,
        amount=amount,
        key=key,
        meta={"grant_id": str(grant.id), "source": grant.source_key, "restored": True},
    )
    return amount


async def expire_due_grants(db: Database, *, now: dt.datetime | None = None) -> int:
    """The scheduler's sweep: write off expired grants, one user per transaction; stars written off."""
    now = now or utcnow()
    async with db.session() as session:
        user_ids = await users_with_due_grants(session, now=now)
    total = 0
    for user_id in user_ids:
        async with db.session() as session:
            total += await expire_user_grants(session, user_id, now=now)
    return total
