"""Creating and finding users (and the identities they sign in with)."""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.settings import Settings
from conjure.users.models import IdentityProvider, Role, User, UserIdentity

if TYPE_CHECKING:
    from conjure.db import Database

INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes (0/O, 1/I)


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(8))


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str | None = None,
    password_hash: str | None = None,
    name: str | None = None,
    external_provider: str | None = None,
    external_id: str | None = None,
) -> User:
    """Insert a user with zero balances and a fresh invite code (the wallet adds the bonus).

    The identities it is made with are recorded too: ``("password", email)`` when it has a
    password, ``(external_provider, external_id)`` when it comes from another sign-in.
    """
    email = normalize_email(email) if email else None
    admins = {normalize_email(e) for e in settings.admin_emails}
    user = User(
        email=email,
        password_hash=password_hash,
        name=name,
        external_provider=external_provider,
        external_id=external_id,
        role=Role.ADMIN if email and email in admins else Role.USER,
        star_balance=0,
        coin_balance=0,
        stars_held=0,
        total_invites=0,
        tier="free",
        invite_code=new_invite_code(),
    )
    session.add(user)
    await session.flush()
    if email and password_hash:
        session.add(UserIdentity(user_id=user.id, provider=IdentityProvider.PASSWORD, subject=email))
    if external_provider and external_id:
        session.add(UserIdentity(user_id=user.id, provider=external_provider, subject=external_id))
    await session.flush()
    return user


async def user_of_identity(session: AsyncSession, provider: str, subject: str) -> User | None:
    """The (live) user who signs in with ``provider``/``subject``, if any."""
    stmt = (
        select(User)
        .join(UserIdentity, UserIdentity.user_id == User.id)
        .where(UserIdentity.provider == provider, UserIdentity.subject == subject, User.deleted_at.is_(None))
    )
    return await session.scalar(stmt)


async def user_exists(db: Database, user_id: uuid.UUID) -> bool:
    """Whether the user is there and not deleted: one plain statement on PostgreSQL (a token's first use)."""
    if db.is_sqlite:
        async with db.session() as session:
            stmt = select(User.id).where(User.id == user_id, User.deleted_at.is_(None))
            return await session.scalar(stmt) is not None
    async with db.driver_connection() as conn:
        sql = "SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL"
        return await conn.fetchval(sql, user_id) is not None
