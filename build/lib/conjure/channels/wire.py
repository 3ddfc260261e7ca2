"""The providers' wire formats: a delivery split into its messages, a stored message made an InboundMessage.

A delivery becomes one :class:`Received` per customer message (what is stored and deduped);
the processing job later turns each stored payload into an
:class:`~conjure.channels.types.InboundMessage` (:func:`normalise`). Anything else a provider
sends on the same subscription (our own outbound SMS, WhatsApp delivery statuses, other
Business Profile notification types) yields nothing and is answered 200 all the same.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from conjure.channels.types import InboundMessage
from conjure.channels.verify import parse_time
from conjure.db import utcnow

REVIEW_NOTIFICATIONS = frozenset({"NEW_REVIEW", "UPDATED_REVIEW"})
STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
MAX_ID = 255


class MalformedDelivery(ValueError):
    """The body is not the provider's format (answered 400 ``malformed_json``)."""


@dataclass(frozen=True)
class Received:
    """One message of a delivery: the dedupe key and the provider's record of it."""

    channel: str
    provider_message_id: str
    payload: dict[str, Any]


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _id(value: object) -> str:
    text = "" if value is None else str(value)
    if not text or len(text) > MAX_ID:
        raise MalformedDelivery("A message has no usable id.")
    return text


def ringcentral_messages(notification: dict[str, Any]) -> list[Received]:
    """An instant message-store notification (``…/message-store/instant?type=SMS``): the inbound SMS in it."""
    body = _dict(notification.get("body"))
    if body.get("type") != "SMS" or body.get("direction") != "Inbound":
        return []  # our own outbound SMS, or another event on the subscription
    payload = {"uuid": notification.get("uuid"), "timestamp": notification.get("timestamp"), "body": body}
    return [Received("sms", _id(body.get("id")), payload)]


def meta_messages(delivery: dict[str, Any]) -> list[Received]:
    """A WhatsApp Cloud API ``messages`` webhook: each customer message (statuses are skipped)."""
    if delivery.get("object") != "whatsapp_business_account":
        raise MalformedDelivery("Not a WhatsApp Business Account webhook.")
    found = []
    for entry in _list(delivery.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            change = _dict(change)
            value = _dict(change.get("value"))
            if change.get("field") != "messages":
                continue
            for message in _list(value.get("messages")):
                message = _dict(message)
                payload = {
                    "metadata": _dict(value.get("metadata")),
                    "contacts": _list(value.get("contacts")),
                    "message": message,
                }
                found.append(Received("whatsapp", _id(message.get("id")), payload))
    return found


def meta_timestamps(received: list[Received]) -> list[object]:
    return [item.payload["message"].get("timestamp") for item in received]


def pubsub_messages(push: dict[str, Any]) -> list[Received]:
    """A Pub/Sub push: a Business Profile review notification or a Business Messages message."""
    message = _dict(push.get("message"))
    pubsub_id = _id(message.get("messageId") or message.get("message_id"))
    try:
        data = json.loads(base64.b64decode(str(message.get("data", "")), validate=True) or b"{}")
    except (binascii.Error, ValueError):
        raise MalformedDelivery("The Pub/Sub message's data is not base64 JSON.") from None
    data = _dict(data)
    meta = {"pubsub_message_id": pubsub_id, "publish_time": message.get("publishTime")}
    if data.get("type") in REVIEW_NOTIFICATIONS:
        review = data.get("review") or data.get("reviewName")
        location = data.get("location") or data.get("locationName")
        if not isinstance(review, str) or "/reviews/" not in review:
            raise MalformedDelivery("The review notification names no review.")
        payload = {**meta, "type": data["type"], "review_name": review, "location_name": location}
        # Each notification is its own event (a review updated twice is handed over twice);
        # a redelivery of the same Pub/Sub message keeps its id.
        return [Received("google", f"pubsub:{pubsub_id}", payload)]
    text_message = _dict(data.get("message"))
    if data.get("conversationId") and text_message.get("text"):
        payload = {**meta, "business_message": data}
        return [Received("google", f"message:{_id(text_message.get('messageId'))}", payload)]
    return []


def _last(name: object) -> str:
    return str(name or "").rstrip("/").rsplit("/", 1)[-1]


def _sms(payload: dict[str, Any]) -> InboundMessage:
    body = _dict(payload.get("body"))
    to = [_dict(item) for item in _list(body.get("to"))]
    return InboundMessage(
        channel="sms",
        kind="message",
        provider_message_id=str(body.get("id")),
        from_address=str(_dict(body.get("from")).get("phoneNumber", "")),
        to_address=str(to[0].get("phoneNumber", "")) if to else "",
        text=str(body.get("subject") or ""),
        received_at=parse_time(body.get("creationTime")) or parse_time(payload.get("timestamp")) or utcnow(),
    )


def _whatsapp(payload: dict[str, Any]) -> InboundMessage:
    message = _dict(payload.get("message"))
    kind = str(message.get("type") or "")
    # Text is what an inbox shows; other kinds (image, location, …) are named so staff look.
    content = _dict(message.get(kind))
    text = content.get("body") or content.get("caption") or _dict(message.get("button")).get("text")
    sender = str(message.get("from", ""))
    return InboundMessage(
        channel="whatsapp",
        kind="message",
        provider_message_id=str(message.get("id")),
        from_address=sender if sender.startswith("+") else f"+{sender}",
        to_address=str(_dict(payload.get("metadata")).get("phone_number_id", "")),
        text=str(text) if text else f"[{kind or 'unknown'} message]",
        received_at=parse_time(message.get("timestamp")) or utcnow(),
    )


def review_message(payload: dict[str, Any], review: dict[str, Any]) -> InboundMessage:
    """A review notification with the review the Business Profile API returned for it."""
    name = str(review.get("name") or payload.get("review_name"))
    reviewer = _dict(review.get("reviewer"))
    anonymous = reviewer.get("isAnonymous") is True
    return InboundMessage(
        channel="google",
        kind="review",
        provider_message_id=str(review.get("reviewId") or _last(name)),
        from_address=_last(name),  # Google names no reviewer id: the review is its own thread
        to_address=_last(name.split("/reviews/")[0]),
        text=str(review.get("comment") or ""),
        received_at=parse_time(review.get("updateTime") or review.get("createTime")) or utcnow(),
        rating=STARS.get(str(review.get("starRating"))),
        reviewer_name=None if anonymous else (str(reviewer.get("displayName") or "") or None),
    )


def _business_message(payload: dict[str, Any]) -> InboundMessage:
    data = _dict(payload.get("business_message"))
    message, context = _dict(data.get("message")), _dict(data.get("context"))
    name = _dict(context.get("userInfo")).get("displayName")
    return InboundMessage(
        channel="google",
        kind="message",
        provider_message_id=str(message.get("messageId")),
        from_address=str(data.get("conversationId")),
        to_address=str(context.get("placeId") or _last(data.get("agent"))),
        text=str(message.get("text") or ""),
        received_at=parse_time(message.get("createTime")) or utcnow(),
        reviewer_name=str(name) if name else None,
    )


def normalise(channel: str, payload: dict[str, Any]) -> InboundMessage | None:
    """The InboundMessage of a stored payload; None for a review (it needs the API first)."""
    if channel == "sms":
        return _sms(payload)
    if channel == "whatsapp":
        return _whatsapp(payload)
    if "business_message" in payload:
        return _business_message(payload)
    return None
