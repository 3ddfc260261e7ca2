"""What apps call to answer on a channel: send a message (SMS, WhatsApp), reply to a Google review.

Each call is one HTTP request with httpx to the provider's API (bases and credentials from
settings, so tests point them at local peers); failures raise :mod:`conjure.channels.errors`.
:func:`fetch_review` is the processing job's read of a review a notification only names.
"""

from __future__ import annotations

from typing import Any

import httpx

from conjure.channels import tokens
from conjure.channels.errors import (
    ChannelCannotSend,
    ChannelNotConfigured,
    ChannelRejected,
    raise_for_provider,
    transport_failure,
)
from conjure.settings import Settings

__all__ = ["fetch_review", "publish_review_reply", "review_path", "send_message"]


async def _call(
    provider: str, action: str, settings: Settings, method: str, url: str, token: str, json: dict[str, Any]
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        async with httpx.AsyncClient(timeout=settings.channels_http_timeout_seconds) as client:
            response = await client.request(method, url, json=json or None, headers=headers)
    except httpx.HTTPError as exc:
        raise transport_failure(provider, action, exc) from None
    if response.status_code == 401:
        # An access token revoked or expired early: the retry fetches a fresh one.
        tokens.forget(provider)
    raise_for_provider(provider, action, response)
    try:
        body = response.json()
    except ValueError:
        body = {}
    return body if isinstance(body, dict) else {}


async def send_sms(settings: Settings, from_address: str, to_address: str, text: str) -> str:
    """RingCentral ``POST /restapi/v1.0/account/~/extension/~/sms``; the message id."""
    token = await tokens.ringcentral_token(settings)
    url = settings.ringcentral_server_url.rstrip("/") + "/restapi/v1.0/account/~/extension/~/sms"
    body = {"from": {"phoneNumber": from_address}, "to": [{"phoneNumber": to_address}], "text": text}
    sent = await _call("ringcentral", "send", settings, "POST", url, token, body)
    return str(sent.get("id", ""))


async def send_whatsapp(settings: Settings, from_address: str, to_address: str, text: str) -> str:
    """Cloud API ``POST /{version}/{phone-number-id}/messages`` (a text message); the ``wamid``."""
    if settings.whatsapp_access_token is None:
        raise ChannelNotConfigured("WhatsApp is not configured (WHATSAPP_ACCESS_TOKEN).")
    phone_number_id = from_address or settings.whatsapp_phone_number_id
    if not phone_number_id:
        raise ChannelNotConfigured("No WhatsApp phone-number id to send from (WHATSAPP_PHONE_NUMBER_ID).")
    base = settings.meta_graph_api_base.rstrip("/")
    url = f"{base}/{settings.meta_graph_api_version}/{phone_number_id}/messages"
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to_address.removeprefix("+"),  # the Cloud API takes the number's digits (the wa_id)
        "type": "text",
        "text": {"preview_url": False, "body": text},
    }
    token = settings.whatsapp_access_token.get_secret_value()
    sent = await _call("whatsapp", "send", settings, "POST", url, token, body)
    messages = sent.get("messages") or [{}]
    return str(messages[0].get("id", ""))


async def send_message(
    settings: Settings, channel: str, from_address: str, to_address: str, text: str
) -> str:
    """Send ``text`` on ``channel`` ("sms" or "whatsapp") from our address to a customer's; the provider's id.

    ``from_address``: our RingCentral number (E.164), or our WhatsApp phone-number id (empty:
    ``WHATSAPP_PHONE_NUMBER_ID``) — the ``to_address`` of the message being answered.
    """
    if not text.strip():
        raise ChannelRejected("An empty message is not sent.")
    if channel == "sms":
        return await send_sms(settings, from_address, to_address, text)
    if channel == "whatsapp":
        return await send_whatsapp(settings, from_address, to_address, text)
    raise ChannelCannotSend(f"The {channel!r} channel has no message-sending API.")


def review_path(settings: Settings, location_id: str, review_id: str) -> str:
    """``accounts/{a}/locations/{l}/reviews/{r}`` from bare ids (account: GOOGLE_BUSINESS_ACCOUNT_ID)
    or from full resource names, which are kept as given."""
    if review_id.startswith("accounts/"):
        return review_id
    location = location_id
    if not location.startswith("accounts/"):
        if not settings.google_business_account_id:
            raise ChannelNotConfigured("A bare Google location id needs GOOGLE_BUSINESS_ACCOUNT_ID.")
        location = f"accounts/{settings.google_business_account_id}/locations/{location_id}"
    return f"{location}/reviews/{review_id.rsplit('/', 1)[-1]}"


async def fetch_review(settings: Settings, review_name: str) -> dict[str, Any]:
    """Business Profile ``GET /v4/{review name}``: the review a notification named."""
    token = await tokens.google_business_token(settings)
    url = f"{settings.google_business_api_base.rstrip('/')}/v4/{review_name}"
    return await _call("google", "review read", settings, "GET", url, token, {})


async def publish_review_reply(settings: Settings, location_id: str, review_id: str, text: str) -> None:
    """Business Profile ``PUT /v4/accounts/*/locations/*/reviews/*/reply``: post (or replace) our reply."""
    if not text.strip():
        raise ChannelRejected("An empty reply is not published.")
    path = review_path(settings, location_id, review_id)
    token = await tokens.google_business_token(settings)
    url = f"{settings.google_business_api_base.rstrip('/')}/v4/{path}/reply"
    await _call("google", "review reply", settings, "PUT", url, token, {"comment": text})
