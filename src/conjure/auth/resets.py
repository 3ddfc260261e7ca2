"""Password reset by email for own (email + password) accounts.

Asking for a reset answers the same whether or not the account exists (no account oracle); for an
existing one it stores the sha256 of a fresh token and queues an email with a link to
``/reset-password#token=…`` (a fragment: browsers never send it, so no server or proxy logs it).
Confirming spends the token with a conditional update (of two confirms racing with one token
exactly one wins), sets the password, spends the user's other reset tokens and revokes every
refresh token, so sessions elsewhere end; access tokens already issued live out their TTL.

Errors of this module:

    ConjureError  400 invalid_reset_token (expired, used or unknown: one answer for all three)
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Literal

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.auth.models import PasswordReset, RefreshToken
from conjure.auth.passwords import hash_password
from conjure.auth.tokens import hash_secret
from conjure.db import utcnow
from conjure.errors import ConjureError
from conjure.mail.service import Email, queue_email
from conjure.users.models import IdentityProvider, User, UserIdentity
from conjure.users.service import normalize_email, user_of_identity

if TYPE_CHECKING:
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.auth.resets")
Language = Literal["en", "th"]
PAGE_PATH = "/reset-password"

_SUBJECTS: dict[Language, str] = {
    "en": "Reset your Conjure password",
    "th": "ตั้งรหัสผ่าน Conjure ใหม่",
}
_BODIES: dict[Language, str] = {
    "en": (
        "Someone (we hope you) asked to reset the password of your Conjure account.\n\n"
        "Open this link to choose a new password:\n{link}\n\n"
        "The link works once, for {minutes} minutes. Setting a new password signs you out everywhere else.\n"
        "If you did not ask for this, ignore this email: your password stays as it is.\n"
    ),
    "th": (
        "มีคนขอตั้งรหัสผ่านใหม่สำหรับบัญชี Conjure ของคุณ (หวังว่าจะเป็นคุณเอง)\n\n"
        "เปิดลิงก์นี้เพื่อตั้งรหัสผ่านใหม่:\n{link}\n\n"
        "ลิงก์ใช้ได้ครั้งเดียว ภายใน {minutes} นาที เมื่อตั้งรหัสผ่านใหม่แล้ว อุปกรณ์อื่นทั้งหมดจะออกจากระบบ\n"
        "ถ้าคุณไม่ได้ขอ ไม่ต้องทำอะไร รหัสผ่านของคุณยังเหมือนเดิม\n"
    ),
}


class InvalidResetToken(ConjureError):
    code, status = "invalid_reset_token", 400


def reset_email(to: str, link: str, *, language: Language, ttl_seconds: int) -> Email:
    """The reset email in ``language`` with ``link``."""
    minutes = max(1, ttl_seconds // 60)
    return Email(
        to=to, subject=_SUBJECTS[language], text=_BODIES[language].format(link=link, minutes=minutes)
    )


async def request_password_reset(
    session: AsyncSession, runtime: Runtime, *, email: str, language: Language
) -> None:
    """Queue a reset email when a live account signs in with ``email`` and a password; else nothing."""
    settings = runtime.settings
    address = normalize_email(email)
    # Made either way, so both answers cost the same up to here.
    token = secrets.token_urlsafe(32)
    user = await user_of_identity(session, IdentityProvider.PASSWORD, address)
    if user is None:
        return
    now = utcnow()
    session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=hash_secret(token),
            created_at=now,
            expires_at=now + dt.timedelta(seconds=settings.password_reset_ttl_seconds),
        )
    )
    # PUBLIC_BASE_URL, never the request's Host header: a forged Host would send the victim a link
    # to the forger's site carrying a valid token ("password reset poisoning").
    link = f"{settings.public_base_url.rstrip('/')}{PAGE_PATH}#token={token}"
    await queue_email(
        session,
        runtime,
        reset_email(address, link, language=language, ttl_seconds=settings.password_reset_ttl_seconds),
    )
    log.info("password_reset_requested", user_id=str(user.id))


async def _signs_in_with_password(session: AsyncSession, user: User) -> bool:
    stmt = select(UserIdentity.id).where(
        UserIdentity.user_id == user.id, UserIdentity.provider == IdentityProvider.PASSWORD
    )
    return await session.scalar(stmt.limit(1)) is not None


async def confirm_password_reset(session: AsyncSession, *, token: str, password: str) -> User:
    """Set the password of the token's user; the token and every other session of theirs end."""
    # Hashed before the token is spent, so no row lock (nor SQLite's write lock) waits on argon2.
    password_hash = await hash_password(password)
    now = utcnow()
    spent = await session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.token_hash == hash_secret(token),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
        .returning(PasswordReset.user_id)
    )
    user_id = spent.scalar_one_or_none()
    user = await session.get(User, user_id) if user_id is not None else None
    # Closed since, or no longer signing in with a password (unlinked): the link has nothing to reset.
    if user is None or user.deleted_at is not None or not await _signs_in_with_password(session, user):
        raise InvalidResetToken("This reset link has expired or was already used; ask for a new one.")
    user.password_hash = password_hash
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    log.info("password_reset", user_id=str(user.id))
    return user
