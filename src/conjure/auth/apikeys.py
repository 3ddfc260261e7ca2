"""API keys: the seed's phase-1 keys from the environment, and per-user keys stored hashed.

A database key looks like ``cj_ab12cd34_<secret>``: the first 11 characters (``cj_`` + 8)
are stored in clear to find the row, the whole key only as sha256. Environment keys
(``API_KEYS="name:secret,..."``) act as a service principal: a system user with
``external_provider="api_key"`` made on first use.
"""

from __future__ import annotations

import hmac
import secrets
import string
import uuid

from limits import parse_many
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.auth.models import ApiKey
from conjure.auth.service import sync_external_user
from conjure.auth.tokens import hash_secret
from conjure.db import utcnow
from conjure.errors import ConjureError, NotFound
from conjure.settings import Settings
from conjure.users.models import User

KEY_PREFIX = "cj_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
ENV_KEY_PROVIDER = "api_key"


class InvalidRateLimit(ConjureError):
    code, status = "invalid_rate_limit", 422


def new_api_key() -> tuple[str, str]:
    """(prefix, full key)."""
    prefix = KEY_PREFIX + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


async def create_api_key(
    session: AsyncSession,
    user: User,
    *,
    name: str,
    rate_limit: str | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key for ``user``; the plain key is returned here and never again.

    A key's own ``rate_limit`` is counted on top of its user's (``conjure.auth.deps.Principal``),
    so it can only lower what the key may do: any user may set one on their own keys.
    """
    if rate_limit is not None:
        try:
            parse_many(rate_limit)
        except ValueError:
            raise InvalidRateLimit(f"Not a rate limit: {rate_limit!r} (try '100/minute').") from None
    prefix, key = new_api_key()
    row = ApiKey(user_id=user.id, name=name, prefix=prefix, key_hash=hash_secret(key), rate_limit=rate_limit)
    session.add(row)
    await session.flush()
    return row, key


async def list_api_keys(
    session: AsyncSession, user: User, *, limit: int, offset: int
) -> tuple[list[ApiKey], int]:
    """One page of the user's keys (no secrets), newest first, and how many they have in all."""
    mine = ApiKey.user_id == user.id
    total = await session.scalar(select(func.count()).select_from(ApiKey).where(mine))
    newest_first = (ApiKey.created_at.desc(), ApiKey.id)
    stmt = select(ApiKey).where(mine).order_by(*newest_first).limit(limit).offset(offset)
    return list(await session.scalars(stmt)), int(total or 0)


async def revoke_api_key(session: AsyncSession, user: User, key_id: uuid.UUID) -> ApiKey:
    """Revoke one of the user's keys; another user's key is 404, as if it did not exist."""
    row = await session.get(ApiKey, key_id)
    if row is None or row.user_id != user.id:
        raise NotFound("No such API key.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


async def find_api_key(session: AsyncSession, key: str) -> ApiKey | None:
    """The live database key matching ``key`` (constant-time hash compare), else None."""
    if not key.startswith(KEY_PREFIX) or len(key) <= PREFIX_LENGTH:
        return None
    row = await session.scalar(select(ApiKey).where(ApiKey.prefix == key[:PREFIX_LENGTH]))
    if row is None or not hmac.compare_digest(row.key_hash, hash_secret(key)):
        return None
    now = utcnow()
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    # Coarse last-use stamp: one write per key per few minutes, not per request.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 300:
        row.last_used_at = now
    return row


def match_env_key(settings: Settings, key: str) -> str | None:
    """The name of the environment key equal to ``key`` (every entry compared in constant time)."""
    found: str | None = None
    for entry in settings.api_keys:
        name, sep, secret = entry.partition(":")
        if not sep:
            name, secret = "key-" + hash_secret(entry)[:8], entry
        if secret and hmac.compare_digest(secret.encode(), key.encode()):
            found = found or name
    return found


async def env_key_user(session: AsyncSession, settings: Settings, name: str) -> User:
    """The service principal of environment key ``name`` (created on first use)."""
    return await sync_external_user(
        session, settings, provider=ENV_KEY_PROVIDER, external_id=name, name=f"API key {name}"
    )
