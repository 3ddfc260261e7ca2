"""The users table (seed 000 "users"): identity, role, balances, invites; and the ways each signs in.

A user holds one or more :class:`UserIdentity` rows (email + password, Telegram, Clerk, Auth0,
Firebase): every one of them signs in to the same user and wallet. ``users.external_provider``
and ``external_id`` keep the identity the account was created with (shown to clients as
``external_provider``); sign-in looks identities up in ``user_identities`` only.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from conjure.db import Base, UTCDateTime, new_id, utcnow


class Role(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("external_provider", "external_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(200))
    picture_url: Mapped[str | None] = mapped_column(String(1000))
    role: Mapped[str] = mapped_column(String(16), default=Role.USER)
    external_provider: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(255))
    # Balances live on the user row as in the seed; only conjure.wallet.service changes them.
    star_balance: Mapped[int] = mapped_column(BigInteger, default=0)
    coin_balance: Mapped[int] = mapped_column(BigInteger, default=0)
    stars_held: Mapped[int] = mapped_column(BigInteger, default=0)
    # The seq of this user's latest ledger row: the next row takes ledger_seq + 1 under the row
    # lock, so writers never need MAX(seq) (which a statement's snapshot may not see yet).
    ledger_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    invite_code: Mapped[str] = mapped_column(String(32), unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    total_invites: Mapped[int] = mapped_column(Integer, default=0)
    tier: Mapped[str] = mapped_column(String(32), default="free")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set when the account was deleted (or merged into another): the row stays, anonymised, so
    # its ledger and payments remain for accounting; nothing signs in to it any more.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class IdentityProvider(enum.StrEnum):
    """The ways of signing in that can be linked to an account."""

    PASSWORD = "password"  # subject: the normalized email
    TELEGRAM = "telegram"  # subject: the Telegram user id
    CLERK = "clerk"
    AUTH0 = "auth0"
    FIREBASE = "firebase"


class UserIdentity(Base):
    """One way of signing in to one user: (provider, subject) is unique across all users."""

    __tablename__ = "user_identities"
    __table_args__ = (UniqueConstraint("provider", "subject", name="uq_user_identities_provider_subject"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
