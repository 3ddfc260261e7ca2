"""OAuth access tokens for the send APIs: RingCentral's JWT flow, Google's refresh-token flow.

A token is fetched on first use and kept in this process until a minute before it expires
(both providers rate-limit their token endpoints hard, RingCentral's especially), and dropped
when the API refuses it. Tokens and credentials are never logged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from conjure.channels.errors import ChannelNotConfigured, raise_for_provider, transport_failure
from conjure.settings import Settings

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
EARLY_SECONDS = 60.0  # renew this long before the provider's expiry


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float


# Per process, by (provider, token URL, client id): a settings change makes a new entry.
_cache: dict[tuple[str, str, str], _Token] = {}


def forget(provider: str) -> None:
    """Drop the provider's cached token (the API refused it: the next call gets a new one)."""
    for key in [key for key in _cache if key[0] == provider]:
        del _cache[key]


async def _fetch(provider: str, key: tuple[str, str, str], request: httpx.Request, settings: Settings) -> str:
    cached = _cache.get(key)
    if cached is not None and cached.expires_at > time.monotonic():
        return cached.value
    try:
        async with httpx.AsyncClient(timeout=settings.channels_http_timeout_seconds) as client:
            response = await client.send(request)
    except httpx.HTTPError as exc:
        raise transport_failure(provider, "token", exc) from None
    if response.status_code in (400, 401, 403):
        # The token endpoint refused our credentials: waiting will not fix them.
        raise ChannelNotConfigured(
            f"{provider} refused the configured credentials (HTTP {response.status_code})."
        )
    raise_for_provider(provider, "token", response)
    body = response.json()
    token = str(body["access_token"])
    lifetime = float(body.get("expires_in") or 3600)
    _cache[key] = _Token(token, time.monotonic() + max(lifetime - EARLY_SECONDS, 1.0))
    return token


async def ringcentral_token(settings: Settings) -> str:
    """An access token from RingCentral's JWT auth flow (client id + secret + JWT credential)."""
    if not (
        settings.ringcentral_client_id and settings.ringcentral_client_secret and settings.ringcentral_jwt
    ):
        raise ChannelNotConfigured(
            "RingCentral is not configured "
            "(RINGCENTRAL_CLIENT_ID, RINGCENTRAL_CLIENT_SECRET, RINGCENTRAL_JWT)."
        )
    url = settings.ringcentral_server_url.rstrip("/") + "/restapi/oauth/token"
    request = httpx.Request(
        "POST",
        url,
        data={"grant_type": JWT_BEARER, "assertion": settings.ringcentral_jwt.get_secret_value()},
        headers={"Accept": "application/json"},
    )
    auth = httpx.BasicAuth(
        settings.ringcentral_client_id, settings.ringcentral_client_secret.get_secret_value()
    )
    request = next(auth.auth_flow(request))
    return await _fetch(
        "ringcentral", ("ringcentral", url, settings.ringcentral_client_id), request, settings
    )


async def google_business_token(settings: Settings) -> str:
    """An access token for the Business Profile APIs from the configured OAuth refresh token."""
    secret, refresh = settings.google_business_client_secret, settings.google_business_refresh_token
    if not (settings.google_business_client_id and secret and refresh):
        raise ChannelNotConfigured(
            "Google Business Profile is not configured (GOOGLE_BUSINESS_CLIENT_ID, "
            "GOOGLE_BUSINESS_CLIENT_SECRET, GOOGLE_BUSINESS_REFRESH_TOKEN)."
        )
    url = settings.google_business_token_url
    request = httpx.Request(
        "POST",
        url,
        data={
            "grant_type": "refresh_token",
            "client_id": settings.google_business_client_id,
            "client_secret": secret.get_secret_value(),
            "refresh_token": refresh.get_secret_value(),
        },
        headers={"Accept": "application/json"},
    )
    return await _fetch("google", ("google", url, settings.google_business_client_id), request, settings)
