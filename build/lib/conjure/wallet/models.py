"""The ledger (seed 000 ``wallet_transactions``) and invites (``user_invites``).

Balances live on the ``users`` row; every change to them is one ledger row written
in the same transaction, numbered per user (``seq``) so the chain can be checked:
``balance_after`` of a row == the previous row's (same currency) + ``amount``, and
``held_after`` == the previous star row's + ``held_change``.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from conjure.db import Base, JSONType, UTCDateTime, new_id, utcnow


class Currency(enum.StrEnum):
    STAR = "star"  # hard currency, bought
    COIN = "coin"  # soft currency, earned


class TransactionType(enum.StrEnum):
    """The causes a ledger row can name (``credit`` also accepts others, e.g. from payments)."""

    SIGNUP_BONUS = "signup_bonus"
    INVITE_REWARD = "invite_reward"
    PURCHASE = "purchase"
    GRANT = "grant"
    REVOKE = "revoke"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    EXCHANGE = "exchange"
    CLAWBACK = "clawback"
    DISPUTE_WON = "dispute_won"  # a won chargeback gives back what its clawback took
    # Credit grants (conjure.wallet.grants): a plan's allowance, its write-off at expiry, and
    # the unspent part taken back when the invoice that paid for it is refunded or disputed.
    ALLOWANCE = "allowance"
    ALLOWANCE_EXPIRY = "allowance_expiry"
    ALLOWANCE_CLAWBACK = "allowance_clawback"


class WalletTransaction(Base):
    __tablename__ = "wallet_transactions"
    __table_args__ = (
        UniqueConstraint("user_id", "seq"),
        CheckConstraint("currency IN ('star', 'coin')", name="currency"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Position in this user's ledger (1, 2, 3, …); unique, so two writers that
    # somehow skipped the row lock would collide instead of forking the chain.
    seq: Mapped[int] = mapped_column(BigInteger)
    transaction_type: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)  # signed change of the balance
    currency: Mapped[str] = mapped_column(String(8))
    balance_after: Mapped[int] = mapped_column(BigInteger)
    # Holds move stars between "available" and "held" without changing the balance.
    held_change: Mapped[int] = mapped_column(BigInteger, default=0)
    held_after: Mapped[int] = mapped_column(BigInteger, default=0)
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)
    # No foreign keys: payments and jobs come later in the migration chain.
    related_payment_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    related_job_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserInvite(Base):
    __tablename__ = "user_invites"
    __table_args__ = (Index("ix_user_invites_flagged", "inviter_id", "flag"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    inviter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Unique: an invitee is linked (and rewarded) at most once.
    invitee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    reward_paid: Mapped[bool] = mapped_column(Boolean, default=False)
    coins_inviter: Mapped[int] = mapped_column(Integer, default=0)
    coins_invitee: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Why the admin should look at it (conjure.wallet.invites.InviteFlag), or None.
    flag: Mapped[str | None] = mapped_column(String(16), default=None)


class CreditGrant(Base):
    """Stars granted with an expiry (a subscription's monthly allowance), spent before bought stars.

    The grant's stars are part of ``users.star_balance`` (its ``allowance`` ledger row added them);
    this row says how many of them are still the grant's: ``remaining == amount - spent -
    written_off - clawed_back``. Captures take from the grants that expire first (the capture's
    ledger row names them in ``metadata.grants``); at ``expires_at`` the remainder is written off
    by an ``allowance_expiry`` ledger row. ``conjure wallet check`` verifies all of it.
    """

    __tablename__ = "credit_grants"
    __table_args__ = (
        CheckConstraint("remaining = amount - spent - written_off - clawed_back", name="remaining"),
        CheckConstraint(
            "remaining >= 0 AND spent >= 0 AND written_off >= 0 AND clawed_back >= 0", name="parts"
        ),
        Index("ix_credit_grants_open", "user_id", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # What paid for it, e.g. ``invoice:in_123``: one grant per key, so one per paid invoice.
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    spent: Mapped[int] = mapped_column(BigInteger, default=0)
    written_off: Mapped[int] = mapped_column(BigInteger, default=0)
    clawed_back: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Set once nothing of it is left to write off (the remainder was zero or written off).
    expired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
