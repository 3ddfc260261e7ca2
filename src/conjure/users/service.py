"""Creating and finding users."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from conjure.settings import Settings
from conjure.users.models import Role, User

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
    """Insert a user with zero balances and a fresh invite code (the wallet adds the bonus)."""
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
    return user
