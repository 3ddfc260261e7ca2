"""The providers' formats: deliveries split into messages, stored payloads normalised."""

from __future__ import annotations

import datetime as dt

import pytest

from conjure.channels.verify import parse_time
from conjure.channels.wire import (
    MalformedDelivery,
    meta_messages,
    normalise,
    pubsub_messages,
    review_message,
    ringcentral_messages,
)
from tests.channels.peers import (
    pubsub_push,
    review_notification,
    review_resource,
    ringcentral_delivery,
    whatsapp_delivery,
)


def test_times_in_every_provider_form() -> None:
    assert parse_time("1764446400") == dt.datetime(2025, 11, 29, 20, 0, tzinfo=dt.UTC)
    assert parse_time("2026-11-29T19:00:00.123456789Z") == dt.datetime(
        2026, 11, 29, 19, 0, 0, 123456, tzinfo=dt.UTC
    )
    assert parse_time("2026-11-29T21:00:00+02:00") == dt.datetime(2026, 11, 29, 19, 0, tzinfo=dt.UTC)
    assert parse_time("2026-11-29T19:00:00") is None  # no zone: not a time a provider sends
    assert parse_time("yesterday") is None
    assert parse_time(None) is None


def test_a_whatsapp_image_is_named_by_its_caption_or_kind() -> None:
    delivery = whatsapp_delivery("wamid.img")
    message = delivery["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(type="image", image={"id": "media-1", "mime_type": "image/jpeg", "caption": "our venue"})
    del message["text"]
    (received,) = meta_messages(delivery)
    normalised = normalise("whatsapp", received.payload)
    assert normalised is not None
    assert normalised.text == "our venue"
    del message["image"]["caption"]
    normalised = normalise("whatsapp", meta_messages(delivery)[0].payload)
    assert normalised is not None
    assert normalised.text == "[image message]"


def test_a_whatsapp_batch_gives_one_stored_message_each() -> None:
    delivery = whatsapp_delivery("wamid.a")
    value = delivery["entry"][0]["changes"][0]["value"]
    value["messages"].append({**value["messages"][0], "id": "wamid.b", "text": {"body": "second"}})
    assert [r.provider_message_id for r in meta_messages(delivery)] == ["wamid.a", "wamid.b"]


def test_other_meta_objects_and_id_less_messages_are_malformed() -> None:
    with pytest.raises(MalformedDelivery):
        meta_messages({"object": "page", "entry": []})
    delivery = whatsapp_delivery()
    del delivery["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    with pytest.raises(MalformedDelivery):
        meta_messages(delivery)
    with pytest.raises(MalformedDelivery):
        ringcentral_messages(ringcentral_delivery(message_id=""))


def test_an_anonymous_review_has_no_reviewer_name() -> None:
    (received,) = pubsub_messages(pubsub_push(review_notification("r9")))
    review = {
        **review_resource("r9", stars="ONE"),
        "reviewer": {"displayName": "A Google user", "isAnonymous": True},
    }
    message = review_message(received.payload, review)
    assert (message.rating, message.reviewer_name, message.from_address, message.to_address) == (
        1,
        None,
        "r9",
        "222",
    )


def test_pubsub_data_that_is_not_base64_json_is_malformed() -> None:
    push = pubsub_push(review_notification())
    push["message"]["data"] = "%%%"
    with pytest.raises(MalformedDelivery):
        pubsub_messages(push)
    push["message"]["data"] = "bm90IGpzb24="  # "not json"
    with pytest.raises(MalformedDelivery):
        pubsub_messages(push)
    nameless = pubsub_push({"type": "NEW_REVIEW", "location": "accounts/1/locations/2"})
    with pytest.raises(MalformedDelivery):
        pubsub_messages(nameless)
