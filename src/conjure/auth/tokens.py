"""Conjure's own signed access tokens (HS256 with JWT_SECRET)."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt

from conjure.settings import Settings

ISSUER = "conjure"
ALGORITHM = "HS256"


def issue_access_token(settings: Settings, user_id: uuid.UUID, *, ttl_seconds: int | None = None) -> str:
    now = dt.datetime.now(dt.UTC)
    ttl = settings.access_token_ttl_seconds if ttl_seconds is None else ttl_seconds
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "iat": now,
        "exp": now + dt.timedelta(seconds=ttl),
        "typ": "access",
    }
    return jwt.encode(claims, settings.signing_secret, algorithm=ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> uuid.UUID:
    """The user id in a valid token; raises ``jwt.InvalidTokenError`` otherwise."""
    claims = jwt.decode(
        token,
        settings.signing_secret,
        algorithms=[ALGORITHM],
        issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "iss"]},
        leeway=5,
    )
    if claims.get("typ") != "access":
        raise jwt.InvalidTokenError("not an access token")
    return uuid.UUID(claims["sub"])
