"""Conjure's own signed access tokens (HS256 with JWT_SECRET)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
import uuid
from typing import Any

import jwt

from conjure.settings import Settings

ISSUER = "conjure"
ALGORITHM = "HS256"
LEEWAY_SECONDS = 5


def issue_access_token(
    settings: Settings,
    user_id: uuid.UUID,
    *,
    ttl_seconds: int | None = None,
    auth_time: dt.datetime | None = None,
) -> str:
    """A signed access token for ``user_id`` that expires after ACCESS_TOKEN_TTL_SECONDS.

    ``auth_time`` (OIDC's claim) is when the person signed in: now, or for a refreshed token the
    sign-in that started its refresh family, so a refresh never passes for re-authentication.
    """
    now = dt.datetime.now(dt.UTC)
    ttl = settings.access_token_ttl_seconds if ttl_seconds is None else ttl_seconds
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "iat": now,
        "auth_time": int((auth_time or now).timestamp()),
        "exp": now + dt.timedelta(seconds=ttl),
        "typ": "access",
    }
    return jwt.encode(claims, settings.signing_secret, algorithm=ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> uuid.UUID:
    """The user id in a valid token; raises ``jwt.InvalidTokenError`` otherwise."""
    return verify_access_token(settings, token)[0]


def verify_access_token(settings: Settings, token: str) -> tuple[uuid.UUID, float]:
    """(user id, expiry as a POSIX time) of a valid token; raises ``jwt.InvalidTokenError`` otherwise."""
    claims = jwt.decode(
        token,
        settings.signing_secret,
        algorithms=[ALGORITHM],
        issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "iss"]},
        leeway=LEEWAY_SECONDS,
    )
    if claims.get("typ") != "access":
        raise jwt.InvalidTokenError("not an access token")
    return uuid.UUID(claims["sub"]), float(claims["exp"])


class VerifiedTokens:
    """Access tokens this process has verified: token → (user id, expiry).

    A token's signature and claims verify the same way every time until it expires, so a
    client polling with one token pays for HMAC and JSON decoding once, not per request
    (they were a sixth of a status poll's CPU).
    """

    def __init__(self, max_size: int = 50_000) -> None:
        self.max_size = max_size
        self._entries: dict[str, tuple[uuid.UUID, float]] = {}

    def user_id(self, token: str) -> uuid.UUID | None:
        """The user of a token verified before and not yet expired; None otherwise."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry[1] + LEEWAY_SECONDS <= time.time():
            del self._entries[token]
            return None
        return entry[0]

    def add(self, token: str, user_id: uuid.UUID, expires_at: float) -> None:
        if len(self._entries) >= self.max_size:
            self._entries.clear()  # a crude bound: the cache starts cold again, nothing leaks
        self._entries[token] = (user_id, expires_at)


REFRESH_PREFIX = "rt_"


def new_refresh_token() -> str:
    """An opaque refresh token (the database keeps only its sha256)."""
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    """sha256 hex of a high-entropy secret (refresh tokens, API keys); argon2 is for passwords."""
    return hashlib.sha256(value.encode()).hexdigest()


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT-shaped token WITHOUT checking it (only to route it to its verifier)."""
    if token.count(".") != 2:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    return claims if isinstance(claims, dict) else None
