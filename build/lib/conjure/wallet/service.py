"""Stars, coins, holds and the ledger: every balance change is one ledger row in the same transaction.

Money rules, enforced here and nowhere else:

* Each operation locks the user row first (``SELECT … FOR UPDATE`` on PostgreSQL;
  SQLite serializes writers with ``BEGIN IMMEDIATE``), then re-reads what it needs,
  so concurrent requests queue instead of overspending.
* Each ledger row has a unique idempotency key, checked after the lock: a replayed
  credit, a second hold for the same job or a duplicate capture changes nothing.
* No balance goes negative, and available stars (balance − held) never drop below
  zero, except through :func:`clawback_stars` (a refund), whose rows are flagged.

Callers own the transaction (services never commit), so "hold + insert job" or
"store result + capture" are atomic by construction. Where one SQL statement must place a hold
itself (the job store's PostgreSQL submit), it composes :func:`payer_cte` and :func:`hold_ctes`
(``wallet/statements.py``): the same rules as :func:`hold_stars`, written once, here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.errors import ConjureError, NotFound
from conjure.settings import Settings
from conjure.users.models import User
from conjure.wallet import grants
from conjure.wallet.consistency import Problem, check_consistency
from conjure.wallet.invites import inviter_reward
from conjure.wallet.ledger import key_exists, lock_user, record
from conjure.wallet.models import Currency, TransactionType, UserInvite, WalletTransaction
from conjure.wallet.statements import hold_ctes, hold_key, payer_cte

__all__ = [
    "ExchangeResult",
    "InsufficientCoins",
    "InsufficientStars",
    "InvalidAmount",
    "Problem",
    "Wallet",
    "capture_hold",
    "check_consistency",
    "clawback_stars",
    "credit",
    "exchange_coins",
    "get_wallet",
    "grant",
    "hold_ctes",
    "hold_key",
    "hold_stars",
    "hold_stars_again",
    "list_transactions",
    "lock_user",
    "on_signup",
    "payer_cte",
    "release_hold",
]

log = structlog.get_logger("conjure.wallet")


class InsufficientStars(ConjureError):
    code, status = "insufficient_stars", 402

    @classmethod
    def for_hold(cls, required: int, available: int) -> InsufficientStars:
        available = max(available, 0)
        return cls(
            f"This needs {required} star(s); you have {available} available.",
            extra={"required": required, "available": available},
        )


class InsufficientCoins(ConjureError):
    code, status = "insufficient_coins", 402


class InvalidAmount(ConjureError):
    code, status = "validation_error", 422


@dataclass(frozen=True)
class Wallet:
    user_id: uuid.UUID
    star_balance: int
    coin_balance: int
    stars_held: int
    total_invites: int

    @property
    def available_stars(self) -> int:
        return self.star_balance - self.stars_held


@dataclass(frozen=True)
class ExchangeResult:
    stars: int
    coins_spent: int
    wallet: Wallet


def _wallet(user: User) -> Wallet:
    return Wallet(user.id, user.star_balance, user.coin_balance, user.stars_held, user.total_invites)


def _check_currency(currency: str) -> Currency:
    try:
        return Currency(currency)
    except ValueError:
        raise InvalidAmount(f"Unknown currency {currency!r}; use 'star' or 'coin'.") from None


# --- holds: the job engine's side of "charged only on success" ---------------------------


async def hold_stars(session: AsyncSession, user_id: uuid.UUID, amount: int, *, job_id: uuid.UUID) -> None:
    """Reserve ``amount`` stars for a job; 402 ``insufficient_stars`` when too few are available."""
    if amount < 0:
        raise InvalidAmount("A hold cannot be negative.")
    if amount == 0:
        return
    user = await lock_user(session, user_id)
    key = hold_key(job_id)
    if await key_exists(session, key):
        return
    available = user.star_balance - user.stars_held
    if available < amount:
        raise InsufficientStars.for_hold(amount, available)
    await record(
        session,
        user,
        tx_type=TransactionType.HOLD,
        currency=Currency.STAR,
        amount=0,
        held_change=amount,
        key=key,
        job_id=job_id,
    )


async def hold_stars_again(
    session: AsyncSession, user_id: uuid.UUID, amount: int, *, job_id: uuid.UUID
) -> None:
    """Hold ``amount`` stars anew for a job whose earlier hold was settled (a re-driven DLQ job):
    402 ``insufficient_stars`` when too few are available; no-op while its latest hold is open.

    A job's n-th hold (n ≥ 1) is keyed ``hold:<job id>:<n>``, and its capture or release
    ``capture:<job id>:<n>`` / ``release:<job id>:<n>``, so each round is settled once.
    """
    if amount < 0:
        raise InvalidAmount("A hold cannot be negative.")
    if amount == 0:
        return
    user = await lock_user(session, user_id)
    latest = await _latest_hold(session, job_id)
    if latest is not None and not await _is_settled(session, latest):
        return
    available = user.star_balance - user.stars_held
    if available < amount:
        raise InsufficientStars.for_hold(amount, available)
    rounds = await session.scalar(
        select(func.count())
        .select_from(WalletTransaction)
        .where(
            WalletTransaction.related_job_id == job_id,
            WalletTransaction.transaction_type == TransactionType.HOLD,
        )
    )
    await record(
        session,
        user,
        tx_type=TransactionType.HOLD,
        currency=Currency.STAR,
        amount=0,
        held_change=amount,
        key=hold_key(job_id) if not rounds else f"{hold_key(job_id)}:{rounds}",
        job_id=job_id,
    )


async def _latest_hold(session: AsyncSession, job_id: uuid.UUID) -> WalletTransaction | None:
    """The job's most recent hold (a re-driven job may have several, one per round)."""
    stmt = (
        select(WalletTransaction)
        .where(
            WalletTransaction.related_job_id == job_id,
            WalletTransaction.transaction_type == TransactionType.HOLD,
        )
        .order_by(WalletTransaction.seq.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def _round(hold: WalletTransaction) -> str:
    """What follows ``hold:`` in a hold's key: ``<job id>`` or ``<job id>:<n>``."""
    return hold.idempotency_key.removeprefix("hold:")


async def _is_settled(session: AsyncSession, hold: WalletTransaction) -> bool:
    round_ = _round(hold)
    return await key_exists(session, f"capture:{round_}") or await key_exists(session, f"release:{round_}")


async def _settle_hold(session: AsyncSession, job_id: uuid.UUID, *, capture: bool) -> None:
    hold = await _latest_hold(session, job_id)
    if hold is None:
        return
    user = await lock_user(session, hold.user_id)
    # Re-checked under the lock: a capture and a release race for the same job, one wins.
    if await _is_settled(session, hold):
        return
    held = hold.held_change
    # Spending order: a capture takes from the credit grants that expire first, then bought stars.
    taken = await grants.take_for_capture(session, user.id, held) if capture else {}
    await record(
        session,
        user,
        tx_type=TransactionType.CAPTURE if capture else TransactionType.RELEASE,
        currency=Currency.STAR,
        amount=-held if capture else 0,
        held_change=-held,
        key=f"{'capture' if capture else 'release'}:{_round(hold)}",
        job_id=job_id,
        meta={"grants": taken} if taken else None,
    )


async def capture_hold(session: AsyncSession, *, job_id: uuid.UUID) -> None:
    """Turn a job's hold into a debit (job succeeded); idempotent, no-op without a hold."""
    await _settle_hold(session, job_id, capture=True)


async def release_hold(session: AsyncSession, *, job_id: uuid.UUID) -> None:
    """Give a job's held stars back (failed, DLQ, canceled); idempotent, no-op once settled."""
    await _settle_hold(session, job_id, capture=False)


# --- credits and debits ------------------------------------------------------------------


async def credit(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    amount: int,
    currency: str,
    tx_type: str,
    idempotency_key: str,
    payment_id: uuid.UUID | None = None,
    metadata: dict[str, Any] | None = None,
) -> bool:
    """Add stars or coins exactly once per key; False when that key was already applied."""
    cur = _check_currency(currency)
    if amount <= 0:
        raise InvalidAmount("A credit must be positive.")
    user = await lock_user(session, user_id)
    if await key_exists(session, idempotency_key):
        return False
    await record(
        session,
        user,
        tx_type=tx_type,
        currency=cur,
        amount=amount,
        key=idempotency_key,
        payment_id=payment_id,
        meta=metadata,
    )
    return True


async def clawback_stars(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    amount: int,
    idempotency_key: str,
    payment_id: uuid.UUID | None = None,
) -> bool:
    """Take back refunded stars exactly once; may go negative, and then the row is flagged."""
    if amount <= 0:
        raise InvalidAmount("A clawback must be positive.")
    user = await lock_user(session, user_id)
    if await key_exists(session, idempotency_key):
        return False
    # Flag when the user had already spent (or reserved) some of what is taken back.
    flagged = user.star_balance - user.stars_held - amount < 0
    taken = await grants.take_shortfall(session, user, amount)
    await record(
        session,
        user,
        tx_type=TransactionType.CLAWBACK,
        currency=Currency.STAR,
        amount=-amount,
        key=idempotency_key,
        payment_id=payment_id,
        meta={"grants": taken} if taken else None,
        flagged=flagged,
    )
    if flagged:
        log.warning("wallet_clawback_negative", user_id=str(user_id), balance=user.star_balance)
    return True


async def grant(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    currency: str,
    amount: int,
    reason: str,
    actor_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
) -> WalletTransaction:
    """An operator's grant (positive) or revoke (negative), with its reason in the ledger."""
    cur = _check_currency(currency)
    reason = reason.strip()
    if amount == 0:
        raise InvalidAmount("A grant must not be zero.")
    if not reason:
        raise InvalidAmount("A grant needs a reason.")
    user = await lock_user(session, user_id)
    if amount < 0:
        spendable = user.star_balance - user.stars_held if cur == Currency.STAR else user.coin_balance
        if spendable < -amount:
            error = InsufficientStars if cur == Currency.STAR else InsufficientCoins
            raise error(f"Cannot revoke {-amount} {cur}(s); only {spendable} can be taken.")
    meta: dict[str, Any] = {"reason": reason, "actor_id": str(actor_id) if actor_id else None}
    if amount < 0 and cur == Currency.STAR and (taken := await grants.take_shortfall(session, user, -amount)):
        meta["grants"] = taken
    return await record(
        session,
        user,
        tx_type=TransactionType.GRANT if amount > 0 else TransactionType.REVOKE,
        currency=cur,
        amount=amount,
        key=idempotency_key or f"grant:{uuid.uuid4()}",
        meta=meta,
    )


async def exchange_coins(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID, *, stars: int
) -> ExchangeResult:
    """Buy ``stars`` with coins at ``COINS_PER_STAR``; 402 ``insufficient_coins`` when short."""
    if stars <= 0:
        raise InvalidAmount("Exchange a positive whole number of stars.")
    cost = stars * settings.coins_per_star
    user = await lock_user(session, user_id)
    if user.coin_balance < cost:
        raise InsufficientCoins(
            f"{stars} star(s) cost {cost} coins; you have {user.coin_balance}.",
            extra={"required": cost, "available": user.coin_balance},
        )
    ref = uuid.uuid4()
    meta = {"exchange_id": str(ref), "stars": stars, "coins": cost}
    await record(
        session,
        user,
        tx_type=TransactionType.EXCHANGE,
        currency=Currency.COIN,
        amount=-cost,
        key=f"exchange:{ref}:coin",
        meta=meta,
    )
    await record(
        session,
        user,
        tx_type=TransactionType.EXCHANGE,
        currency=Currency.STAR,
        amount=stars,
        key=f"exchange:{ref}:star",
        meta=meta,
    )
    return ExchangeResult(stars=stars, coins_spent=cost, wallet=_wallet(user))


# --- sign-up and invites -----------------------------------------------------------------


async def on_signup(
    session: AsyncSession, settings: Settings, user: User, *, invite_code: str | None
) -> None:
    """Welcome bonus and invite linking/rewards for a new user; safe to call more than once."""
    code = (invite_code or "").strip().upper()
    inviter_id = await session.scalar(select(User.id).where(User.invite_code == code)) if code else None
    if code and inviter_id in (None, user.id):
        log.info("invite_ignored", reason="unknown_code" if inviter_id is None else "self_invite")
        inviter_id = None
    # Every row this sign-up touches is locked up front in id order, so two sign-ups
    # that invite each other queue instead of deadlocking.
    for uid in sorted({user.id} | ({inviter_id} if inviter_id else set())):
        await lock_user(session, uid)
    if settings.signup_bonus_stars > 0:
        await credit(
            session,
            user.id,
            amount=settings.signup_bonus_stars,
            currency=Currency.STAR,
            tx_type=TransactionType.SIGNUP_BONUS,
            idempotency_key=f"signup_bonus:{user.id}",
        )
    if inviter_id is not None:
        await _link_invite(session, settings, inviter_id=inviter_id, invitee_id=user.id)


async def _link_invite(
    session: AsyncSession, settings: Settings, *, inviter_id: uuid.UUID, invitee_id: uuid.UUID
) -> None:
    """Link and reward once per invitee; both user rows are already locked."""
    invitee, inviter = await lock_user(session, invitee_id), await lock_user(session, inviter_id)
    exists = await session.scalar(select(UserInvite.id).where(UserInvite.invitee_id == invitee_id))
    if exists is not None or invitee.invited_by is not None:
        return
    invitee.invited_by = inviter_id
    inviter.total_invites += 1
    # Capped per inviter per day and in total (conjure.wallet.invites); the invitee's are not.
    # A burst or a cap reached flags the row for the admin console.
    reward = await inviter_reward(session, settings, inviter_id)
    coins_inviter, coins_invitee = reward.coins, settings.invite_reward_coins_invitee
    session.add(
        UserInvite(
            inviter_id=inviter_id,
            invitee_id=invitee_id,
            reward_paid=True,
            coins_inviter=coins_inviter,
            coins_invitee=coins_invitee,
            flag=reward.flag.value if reward.flag else None,
        )
    )
    meta = {"inviter_id": str(inviter_id), "invitee_id": str(invitee_id)}
    for role, who, coins in (("inviter", inviter_id, coins_inviter), ("invitee", invitee_id, coins_invitee)):
        if coins > 0:
            await credit(
                session,
                who,
                amount=coins,
                currency=Currency.COIN,
                tx_type=TransactionType.INVITE_REWARD,
                idempotency_key=f"invite_reward:{role}:{invitee_id}",
                metadata=meta,
            )


# --- reads -------------------------------------------------------------------------------


async def get_wallet(session: AsyncSession, user_id: uuid.UUID) -> Wallet:
    """The user's balances as committed (no lock)."""
    stmt = select(User).where(User.id == user_id).execution_options(populate_existing=True)
    user = (await session.execute(stmt)).scalar_one_or_none()
    if user is None:
        raise NotFound("No such wallet.")
    return _wallet(user)


async def list_transactions(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    limit: int = 20,
    before: int | None = None,
    offset: int = 0,
) -> list[WalletTransaction]:
    """A page of the user's ledger, newest first, from ``offset``; only ``seq < before`` if given."""
    stmt = select(WalletTransaction).where(WalletTransaction.user_id == user_id)
    if before is not None:
        stmt = stmt.where(WalletTransaction.seq < before)
    stmt = stmt.order_by(WalletTransaction.seq.desc()).limit(max(1, min(limit, 100))).offset(offset)
    return list((await session.execute(stmt)).scalars())


async def count_transactions(session: AsyncSession, user_id: uuid.UUID, *, before: int | None = None) -> int:
    """How many ledger entries :func:`list_transactions` pages through."""
    stmt = select(func.count()).select_from(WalletTransaction).where(WalletTransaction.user_id == user_id)
    if before is not None:
        stmt = stmt.where(WalletTransaction.seq < before)
    return int(await session.scalar(stmt) or 0)
