"""Accounts and sessions: sign-up, login, rotating refresh tokens, and syncing external identities.

Errors of this domain:

    Unauthorized  invalid_credentials, invalid_refresh_token, refresh_token_reused, invalid_init_data
    Conflict      email_taken
    ServiceUnavailable  telegram_not_configured
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.auth.models import RefreshToken
from conjure.auth.passwords import hash_password, needs_rehash, verify_password
from conjure.auth.tokens import hash_secret, issue_access_token, new_refresh_token
from conjure.db import utcnow
from conjure.errors import Conflict, ServiceUnavailable, Unauthorized
from conjure.settings import Settings
from conjure.users.models import IdentityProvider, User, UserIdentity
from conjure.users.service import create_user, normalize_email, user_of_identity


class InvalidCredentials(Unauthorized):
    """Wrong password and unknown email give this same answer (no account oracle)."""

    code = "invalid_credentials"


class InvalidRefreshToken(Unauthorized):
    code = "invalid_refresh_token"


class EmailTaken(Conflict):
    code = "email_taken"


class TelegramNotConfigured(ServiceUnavailable):
    code = "telegram_not_configured"


class InvalidInitData(Unauthorized):
    code = "invalid_init_data"


@dataclass(frozen=True)
class TokenPair:
    """What a successful sign-in returns to the client."""

    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class RefreshOutcome:
    """A rotation: new tokens, or ``reused`` when a spent token came back (the family is revoked)."""

    user: User | None = None
    tokens: TokenPair | None = None
    reused: bool = False


async def _on_signup(session: AsyncSession, settings: Settings, user: User, invite_code: str | None) -> None:
    # Imported here: the wallet sits beside auth, and only sign-up needs it.
    from conjure.wallet.service import on_signup

    await on_signup(session, settings, user, invite_code=invite_code)


async def signup(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    password: str,
    name: str | None = None,
    invite_code: str | None = None,
) -> User:
    """Create an email + password account and give it the welcome bonus (and invite reward)."""
    email = normalize_email(email)
    if await email_in_use(session, email):
        raise EmailTaken("An account with this email already exists.")
    password_hash = await hash_password(password)
    try:
        async with session.begin_nested():
            user = await create_user(session, settings, email=email, password_hash=password_hash, name=name)
    except IntegrityError:
        raise EmailTaken("An account with this email already exists.") from None
    user.last_login_at = utcnow()
    await _on_signup(session, settings, user, invite_code)
    return user


async def email_in_use(session: AsyncSession, email: str) -> bool:
    """Whether an account has ``email`` (normalized) as its address or as its password sign-in."""
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        return True
    stmt = select(UserIdentity.id).where(
        UserIdentity.provider == IdentityProvider.PASSWORD, UserIdentity.subject == email
    )
    return await session.scalar(stmt) is not None


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User:
    """The user with this email and password; one error for every failure."""
    user = await user_of_identity(session, IdentityProvider.PASSWORD, normalize_email(email))
    # Verify even without a user (against a dummy hash) so timing does not tell them apart.
    ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not ok:
        raise InvalidCredentials("The email or password is not right.")
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    user.last_login_at = utcnow()
    return user


async def issue_tokens(
    session: AsyncSession, settings: Settings, user: User, *, family_id: uuid.UUID | None = None
) -> TokenPair:
    """A fresh access token and a refresh token (stored hashed; a new family unless rotating)."""
    refresh = new_refresh_token()
    now = utcnow()
    signed_in_at = now
    if family_id is not None:
        # A rotation: the access token says when the person actually signed in (the family's start).
        started = await session.scalar(
            select(func.min(RefreshToken.created_at)).where(RefreshToken.family_id == family_id)
        )
        signed_in_at = started or now
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=hash_secret(refresh),
            created_at=now,
            expires_at=now + dt.timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    await session.flush()
    return TokenPair(
        access_token=issue_access_token(settings, user.id, auth_time=signed_in_at),
        refresh_token=refresh,
        expires_in=settings.access_token_ttl_seconds,
    )


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def rotate_refresh_token(session: AsyncSession, settings: Settings, token: str) -> RefreshOutcome:
    """Spend ``token`` for a new pair; a second spend of the same token revokes its whole family."""
    row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == hash_secret(token)))
    if row is None or row.revoked_at is not None:
        raise InvalidRefreshToken("The refresh token is not valid.")
    now = utcnow()
    # Conditional update: of two concurrent spends of one token exactly one wins.
    spent = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        # Someone replayed a spent token: whoever holds the family may be an attacker.
        await _revoke_family(session, row.family_id)
        return RefreshOutcome(reused=True)
    if row.expires_at <= now:
        raise InvalidRefreshToken("The refresh token has expired.")
    user = await session.get(User, row.user_id)
    if user is None:
        raise InvalidRefreshToken("The refresh token is not valid.")
    tokens = await issue_tokens(session, settings, user, family_id=row.family_id)
    return RefreshOutcome(user=user, tokens=tokens)


async def revoke_refresh_token(session: AsyncSession, token: str) -> None:
    """Log out: revoke the family of ``token`` (unknown tokens are ignored: logout is idempotent)."""
    row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == hash_secret(token)))
    if row is not None:
        await _revoke_family(session, row.family_id)


async def sync_external_user(
    session: AsyncSession,
    settings: Settings,
    *,
    provider: str,
    external_id: str,
    email: str | None = None,
    name: str | None = None,
    picture_url: str | None = None,
    invite_code: str | None = None,
) -> User:
    """The internal user of an external identity, created (with the sign-up bonus) on first sight.

    ``email`` must already be verified by the provider (it can grant the admin role);
    it is dropped when another account owns it, so accounts are never linked by email.
    Concurrent first sights create one user: the loser of the unique-key race reads the winner's.
    """
    user = await user_of_identity(session, provider, external_id)
    if user is not None:
        return user
    if email and await session.scalar(select(User.id).where(User.email == normalize_email(email))):
        email = None
    try:
        async with session.begin_nested():
            user = await create_user(
                session, settings, email=email, name=name, external_provider=provider, external_id=external_id
            )
    except IntegrityError:
        existing = await user_of_identity(session, provider, external_id)
        if existing is not None:
            return existing
        # The race was on the email, not the identity: keep the account, without the email.
        async with session.begin_nested():
            user = await create_user(
                session, settings, name=name, external_provider=provider, external_id=external_id
            )
    user.picture_url = picture_url
    await _on_signup(session, settings, user, invite_code)
    return user
