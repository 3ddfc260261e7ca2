"""Who sent a channel webhook: RingCentral's verification token, Meta's signature, Google's OIDC token.

Every check ends in :class:`~conjure.webhooks_inbound.InvalidSignature` (400) with a ``reason``
(never the secret or the token), and every timestamp a provider vouches for goes through the
platform's rule (:func:`~conjure.webhooks_inbound.check_timestamp`, ± the tolerance, both ways):

- RingCentral sends back the subscription's ``Verification-Token`` (a shared secret, compared in
  constant time); the notification's ``timestamp`` must be fresh.
- Meta signs the raw body: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 keyed with the app
  secret>``; each message's ``timestamp`` inside that signed body must be fresh.
- Google Pub/Sub push sends ``Authorization: Bearer <OIDC token>`` signed by Google (RS256, key
  from Google's JWKS): issuer ``accounts.google.com``, our audience, the push service account's
  verified ``email``. Pub/Sub reuses a token for up to an hour, so its ``iat`` may be that old
  (``GOOGLE_PUBSUB_TOKEN_MAX_AGE_SECONDS``) and no more ahead, and a token may not live longer.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

import jwt
import structlog

from conjure.auth.providers import ALLOWED_ALGORITHMS, LEEWAY_SECONDS, JWKSCache, ProviderTokenError
from conjure.errors import ServiceUnavailable
from conjure.settings import Settings
from conjure.webhooks_inbound import InvalidSignature, check_timestamp, hmac_matches

log = structlog.get_logger("conjure.channels.verify")
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")


class WebhooksNotConfigured(ServiceUnavailable):
    """503 ``webhooks_not_configured``: the provider's secret is not set on this server."""

    code = "webhooks_not_configured"


def _refuse(source: str, reason: str, message: str) -> InvalidSignature:
    log.warning("inbound_webhook_refused", source=source, reason=reason)
    return InvalidSignature(message, extra={"reason": reason})


def _same(secret: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(secret.encode(), given.encode())


def parse_time(value: object) -> dt.datetime | None:
    """An RFC 3339 time (``…Z``, fractions) or unix seconds, as an aware UTC datetime; None if neither."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    if not isinstance(value, str):
        return None
    try:
        # Python's parser takes at most six fractional digits; Google sends up to nine.
        head, _, rest = value.partition(".")
        if rest:
            digits = "".join(ch for ch in rest if ch.isdigit())
            value = f"{head}.{digits[:6]}{rest[len(digits) :]}"
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else None


def check_ringcentral(
    settings: Settings, verification_token: str | None, notification: dict[str, Any]
) -> None:
    """The notification carries our subscription's verification token and a fresh timestamp."""
    secret = settings.ringcentral_webhook_verification_token
    if secret is None:
        raise WebhooksNotConfigured(
            "RingCentral webhooks are not configured (RINGCENTRAL_WEBHOOK_VERIFICATION_TOKEN)."
        )
    if not _same(secret.get_secret_value(), verification_token):
        raise _refuse("ringcentral", "bad_verification_token", "The Verification-Token does not match.")
    sent_at = parse_time(notification.get("timestamp"))
    if sent_at is None:
        raise _refuse("ringcentral", "no_timestamp", "The notification has no timestamp.")
    check_timestamp(sent_at.timestamp(), settings.ringcentral_webhook_tolerance_seconds, source="ringcentral")


def check_meta_handshake(settings: Settings, mode: str | None, token: str | None) -> None:
    """The subscription handshake names our verify token (Meta then gets its challenge back)."""
    secret = settings.meta_verify_token
    if secret is None:
        raise WebhooksNotConfigured("Meta webhooks are not configured (META_VERIFY_TOKEN).")
    if mode != "subscribe" or not _same(secret.get_secret_value(), token):
        raise _refuse("meta", "bad_verify_token", "The hub.verify_token does not match.")


def check_meta_signature(settings: Settings, signature: str | None, body: bytes) -> None:
    """``X-Hub-Signature-256`` is the HMAC-SHA256 of the raw body under the app secret."""
    secret = settings.meta_app_secret
    if secret is None:
        raise WebhooksNotConfigured("Meta webhooks are not configured (META_APP_SECRET).")
    given = (signature or "").strip()
    if not given.startswith("sha256=") or not hmac_matches(
        [secret.get_secret_value()], body, [given.removeprefix("sha256=")]
    ):
        raise _refuse("meta", "bad_signature", "The X-Hub-Signature-256 does not match.")


def check_meta_timestamps(settings: Settings, timestamps: list[object]) -> None:
    """Every message's timestamp (inside the signed body) is within the tolerance of now."""
    for value in timestamps:
        sent_at = parse_time(value)
        if sent_at is None:
            raise _refuse("meta", "no_timestamp", "A message has no timestamp.")
        check_timestamp(sent_at.timestamp(), settings.meta_webhook_tolerance_seconds, source="meta")


class PushTokenVerifier:
    """Checks Pub/Sub push tokens for one process (it holds the Google JWKS cache)."""

    def __init__(self, settings: Settings) -> None:
        self.cache = JWKSCache(settings.jwks_min_refresh_seconds)

    async def check(self, settings: Settings, authorization: str | None) -> dict[str, Any]:
        """The token's claims when Google signed it for our audience and push service account."""
        audience, email = settings.google_pubsub_audience, settings.google_pubsub_service_account_email
        if not audience or not email:
            raise WebhooksNotConfigured(
                "Google push is not configured (GOOGLE_PUBSUB_AUDIENCE, GOOGLE_PUBSUB_SERVICE_ACCOUNT_EMAIL)."
            )
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _refuse("google", "no_bearer", "The push has no bearer token.")
        try:
            claims = await self._decode(settings, token.strip(), audience)
        except ProviderTokenError as exc:
            raise _refuse("google", exc.reason, "The push token is not valid.") from None
        if claims.get("email") != email or claims.get("email_verified") is not True:
            raise _refuse("google", "wrong_service_account", "The push token names another account.")
        max_age = settings.google_pubsub_token_max_age_seconds
        iat, exp = float(claims["iat"]), float(claims["exp"])
        check_timestamp(iat, max_age, source="google")
        if exp - iat > max_age + LEEWAY_SECONDS:
            raise _refuse("google", "lifetime_too_long", "The push token outlives what Google issues.")
        return claims

    async def _decode(self, settings: Settings, token: str, audience: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise ProviderTokenError("malformed") from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise ProviderTokenError("algorithm_not_allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ProviderTokenError("missing_kid")
        key = await self.cache.key(settings.google_pubsub_jwks_url, kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALLOWED_ALGORITHMS,
                audience=audience,
                issuer=GOOGLE_ISSUERS,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "email"]},
            )
        except jwt.ExpiredSignatureError:
            raise ProviderTokenError("expired") from None
        except jwt.InvalidTokenError as exc:
            raise ProviderTokenError(type(exc).__name__) from None
        return claims
