"""External identity providers (Clerk, Auth0, Firebase): RS256 ID tokens checked against cached JWKS.

A token is routed to its provider by its (unverified) ``iss``; the provider then
verifies everything: the signature with a key from the issuer's JWKS (algorithm
allow-list: RS256 only, so neither ``none`` nor HS256-with-the-public-key passes),
``iss``, ``exp``, ``iat`` with a small leeway, and every claim the provider documents:

* Clerk: ``nbf`` present and reached; ``azp`` one of ``CLERK_AUTHORIZED_PARTIES`` when set.
* Auth0: ``aud`` names ``AUTH0_AUDIENCE`` (a string or a list that contains it; required).
* Firebase: ``aud`` is the project id; ``sub`` a non-empty string of at most 128 characters
  (the Firebase uid); ``auth_time`` present, a number, and not in the future.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import structlog

from conjure.settings import Settings

log = structlog.get_logger("conjure.auth.providers")

ALLOWED_ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 30
JWKS_TIMEOUT_SECONDS = 5.0
JWKS_MAX_AGE_SECONDS = 3600
FIREBASE_ISSUER = "https://securetoken.google.com/"
MAX_SUBJECT_LENGTH = 255  # users.external_id
FIREBASE_MAX_SUBJECT_LENGTH = 128  # Firebase: "must be a non-empty string" of at most 128 characters


class ProviderTokenError(Exception):
    """The token does not verify; ``reason`` is safe to log (never the token)."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


@dataclass(frozen=True)
class ExternalIdentity:
    """Who a verified provider token says the caller is."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    picture_url: str | None


@dataclass
class _CachedKeys:
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class JWKSCache:
    """JWKS per URL: fetched on first use, again on an unknown ``kid`` (at most once per
    ``min_refresh_seconds``), and again once an hour."""

    def __init__(self, min_refresh_seconds: float) -> None:
        self.min_refresh_seconds = min_refresh_seconds
        self._entries: dict[str, _CachedKeys] = {}

    async def key(self, url: str, kid: str) -> jwt.PyJWK:
        """The key ``kid`` of the set at ``url``; raises :class:`ProviderTokenError` if it has none."""
        entry = self._entries.setdefault(url, _CachedKeys())
        if kid in entry.keys and not self._stale(entry):
            return entry.keys[kid]
        async with entry.lock:
            # Another request may have refreshed while this one waited.
            age = time.monotonic() - entry.fetched_at
            if (kid not in entry.keys and age >= self.min_refresh_seconds) or self._stale(entry):
                entry.fetched_at = time.monotonic()
                # On a failed fetch the old keys stay: a JWKS outage must not sign everyone out.
                entry.keys = await self._fetch(url) or entry.keys
        if kid not in entry.keys:
            raise ProviderTokenError("unknown_kid")
        return entry.keys[kid]

    @staticmethod
    def _stale(entry: _CachedKeys) -> bool:
        # Known keys are re-read now and then too, so a key the issuer withdrew stops working.
        return time.monotonic() - entry.fetched_at >= JWKS_MAX_AGE_SECONDS

    async def _fetch(self, url: str) -> dict[str, jwt.PyJWK] | None:
        try:
            async with httpx.AsyncClient(timeout=JWKS_TIMEOUT_SECONDS) as client:
                response = await client.get(url)
                response.raise_for_status()
                key_set = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
            log.warning("jwks_fetch_failed", url=url, error_type=type(exc).__name__)
            return None
        keys = {key.key_id: key for key in key_set.keys if key.key_id}
        log.info("jwks_fetched", url=url, keys=len(keys))
        return keys


@dataclass(frozen=True)
class Provider:
    """One configured issuer: where its keys are and which audience/parties it must name."""

    name: str
    issuer: str
    jwks_url: str
    audience: str | None = None
    requires_audience: bool = False
    authorized_parties: tuple[str, ...] = ()
    required_claims: tuple[str, ...] = ()  # beyond exp, iat, iss, sub
    max_subject_length: int = MAX_SUBJECT_LENGTH
    checks_auth_time: bool = False  # auth_time (when the user signed in) must not be in the future

    def identity(self, claims: dict[str, Any]) -> ExternalIdentity:
        email = claims.get("email")
        name = claims.get("name") or " ".join(
            part for part in (claims.get("given_name"), claims.get("family_name")) if part
        )
        return ExternalIdentity(
            provider=self.name,
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) and 0 < len(email) <= 320 else None,
            email_verified=claims.get("email_verified") is True,
            name=str(name)[:200] if name else None,
            picture_url=str(claims["picture"])[:1000] if claims.get("picture") else None,
        )


def _jwks_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/jwks.json"


def configured_providers(settings: Settings) -> dict[str, Provider]:
    """The providers that settings turn on, keyed by issuer."""
    providers: list[Provider] = []
    if settings.clerk_issuer:
        providers.append(
            Provider(
                name="clerk",
                issuer=settings.clerk_issuer,
                jwks_url=_jwks_url(settings.clerk_issuer),
                authorized_parties=tuple(settings.clerk_authorized_parties),
                required_claims=("nbf",),
            )
        )
    if settings.auth0_issuer:
        providers.append(
            Provider(
                name="auth0",
                issuer=settings.auth0_issuer,
                jwks_url=_jwks_url(settings.auth0_issuer),
                audience=settings.auth0_audience or None,
                requires_audience=True,
            )
        )
    if settings.firebase_project_id:
        providers.append(
            Provider(
                name="firebase",
                issuer=FIREBASE_ISSUER + settings.firebase_project_id,
                jwks_url=settings.firebase_jwks_url,
                audience=settings.firebase_project_id,
                required_claims=("aud", "auth_time"),
                max_subject_length=FIREBASE_MAX_SUBJECT_LENGTH,
                checks_auth_time=True,
            )
        )
    return {provider.issuer: provider for provider in providers}


class IdentityProviders:
    """Verifies provider tokens for one process (holds the JWKS cache)."""

    def __init__(self, settings: Settings) -> None:
        self.providers = configured_providers(settings)
        self.cache = JWKSCache(settings.jwks_min_refresh_seconds)

    def for_issuer(self, issuer: object) -> Provider | None:
        return self.providers.get(issuer) if isinstance(issuer, str) else None

    async def verify(self, provider: Provider, token: str) -> ExternalIdentity:
        """Check ``token`` fully against ``provider``; raises :class:`ProviderTokenError`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise ProviderTokenError("malformed") from None
        if provider.requires_audience and provider.audience is None:
            # Without an audience any token of the tenant (made for another API) would pass.
            raise ProviderTokenError("audience_not_configured")
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise ProviderTokenError("algorithm_not_allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ProviderTokenError("missing_kid")
        key = await self.cache.key(provider.jwks_url, kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALLOWED_ALGORITHMS,
                issuer=provider.issuer,
                audience=provider.audience,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["exp", "iat", "iss", "sub", *provider.required_claims],
                    "verify_aud": provider.audience is not None,
                },
            )
        except jwt.ExpiredSignatureError:
            raise ProviderTokenError("expired", expired=True) from None
        except jwt.InvalidTokenError as exc:
            raise ProviderTokenError(type(exc).__name__) from None
        _check_claims(provider, claims)
        return provider.identity(claims)


def _check_claims(provider: Provider, claims: dict[str, Any]) -> None:
    """The claims PyJWT does not know about, as each provider documents them."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > provider.max_subject_length:
        raise ProviderTokenError("bad_sub")
    if provider.authorized_parties and claims.get("azp") not in provider.authorized_parties:
        raise ProviderTokenError("unauthorized_party")
    if provider.checks_auth_time:
        auth_time = claims.get("auth_time")
        if isinstance(auth_time, bool) or not isinstance(auth_time, int | float):
            raise ProviderTokenError("bad_auth_time")
        if auth_time > time.time() + LEEWAY_SECONDS:
            raise ProviderTokenError("auth_time_in_future")
