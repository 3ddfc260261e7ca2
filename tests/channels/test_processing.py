"""The ``channels.process`` job: each stored message normalised and handed to the apps' handler, once."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from conjure.channels.models import InboundEvent
from conjure.channels.tasks import process_event
from conjure.channels.types import InboundMessage
from conjure.jobs.models import JobStatus
from conjure.jobs.registry import PermanentJobError
from tests.channels.conftest import ChannelsApi
from tests.channels.peers import (
    CUSTOMER,
    OUR_NUMBER,
    PHONE_NUMBER_ID,
    ProviderPeer,
    Scripted,
    business_message,
    meta_signature,
    pubsub_push,
    push_token,
    review_notification,
    review_resource,
    ringcentral_delivery,
    whatsapp_delivery,
)


async def _deliver_all(api: ChannelsApi, signing_key: rsa.RSAPrivateKey) -> None:
    rc = await api.client.post(
        "/api/v1/webhooks/ringcentral",
        json=ringcentral_delivery("1001", "Table for 8?"),
        headers={"Verification-Token": "rc-verification-token"},
    )
    body = json.dumps(whatsapp_delivery("wamid.one", "Still on for Friday?")).encode()
    wa = await api.client.post(
        "/api/v1/webhooks/meta",
        content=body,
        headers={"X-Hub-Signature-256": meta_signature("meta-app-secret", body)},
    )
    bearer = {"Authorization": f"Bearer {push_token(signing_key)}"}
    review = await api.client.post(
        "/api/v1/webhooks/google", json=pubsub_push(review_notification(), "77"), headers=bearer
    )
    chat = await api.client.post(
        "/api/v1/webhooks/google", json=pubsub_push(business_message(), "78"), headers=bearer
    )
    assert [r.json()["stored"] for r in (rc, wa, review, chat)] == [1, 1, 1, 1]


async def test_each_channel_reaches_the_app_handler_normalised(
    api: ChannelsApi, peer: ProviderPeer, signing_key: rsa.RSAPrivateKey
) -> None:
    peer.reviews["accounts/111/locations/222/reviews/AbFvOqn"] = review_resource(stars="FOUR")
    await _deliver_all(api, signing_key)
    await api.start_worker()
    await api.wait_for(lambda: _len_at_least(api, 4), "four messages handled")
    by_channel = {(m.channel, m.kind): m for m in api.inbox.received}
    sms = by_channel["sms", "message"]
    assert (sms.provider_message_id, sms.from_address, sms.to_address, sms.text) == (
        "1001",
        CUSTOMER,
        OUR_NUMBER,
        "Table for 8?",
    )
    whatsapp = by_channel["whatsapp", "message"]
    assert (whatsapp.provider_message_id, whatsapp.from_address, whatsapp.to_address, whatsapp.text) == (
        "wamid.one",
        CUSTOMER,
        PHONE_NUMBER_ID,
        "Still on for Friday?",
    )
    review = by_channel["google", "review"]
    assert (review.provider_message_id, review.to_address, review.rating, review.reviewer_name) == (
        "AbFvOqn",
        "222",
        4,
        "Mali S.",
    )
    assert review.text.startswith("Great show")
    assert review.received_at == dt.datetime(2026, 11, 29, 19, 0, 0, 123456, tzinfo=dt.UTC)
    # The review was read from the Business Profile API with a token from the refresh-token flow.
    (read,) = peer.calls_to("/reviews/AbFvOqn")
    assert read.method == "GET"
    assert read.headers["authorization"].startswith("Bearer at-")
    chat = by_channel["google", "message"]
    assert (chat.provider_message_id, chat.from_address, chat.text, chat.reviewer_name) == (
        "msg-abc",
        "conv-77",
        "Can I book for Saturday?",
        "Niran",
    )
    assert all(isinstance(m, InboundMessage) and m.received_at.tzinfo is not None for m in api.inbox.received)
    # The handler's session carries the runtime (so an app can submit its own jobs there).
    assert api.inbox.runtimes == [api.runtime] * 4
    # The handler's own writes committed with the processing, one row per message.
    assert await api.inbox_rows() == 4
    assert all(event.processed_at is not None for event in await api.events())
    # What the providers sent (the customers' words and numbers) is not kept once handed over.
    assert [event.payload for event in await api.events()] == [{}] * 4
    assert {job.status for job in await api.jobs()} == {JobStatus.SUCCEEDED}


async def _len_at_least(api: ChannelsApi, n: int) -> bool:
    if len(api.inbox.received) < n:
        return False
    jobs = await api.jobs()
    return all(job.status == JobStatus.SUCCEEDED for job in jobs)


async def test_a_failing_handler_is_retried_and_its_writes_roll_back(api: ChannelsApi) -> None:
    api.inbox.fail_times = 2
    response = await api.client.post(
        "/api/v1/webhooks/ringcentral",
        json=ringcentral_delivery("3003"),
        headers={"Verification-Token": "rc-verification-token"},
    )
    assert response.json()["stored"] == 1
    await api.start_worker()
    await api.wait_for(lambda: _len_at_least(api, 1), "the third attempt to succeed")
    (job,) = await api.jobs()
    assert job.attempts == 3
    assert api.inbox.calls == 3
    # The two failed attempts' rows were rolled back with them: one row, one message.
    assert await api.inbox_rows() == 1
    assert [m.provider_message_id for m in api.inbox.received] == ["3003"]


async def test_a_handler_can_queue_its_own_job_in_the_same_transaction(api: ChannelsApi) -> None:
    api.inbox.follow_up = True
    await api.client.post(
        "/api/v1/webhooks/ringcentral",
        json=ringcentral_delivery("5005"),
        headers={"Verification-Token": "rc-verification-token"},
    )
    await api.start_worker()

    async def followed_up() -> bool:
        jobs = await api.jobs("inbox_test.follow_up")
        return bool(jobs) and jobs[0].status == JobStatus.SUCCEEDED

    await api.wait_for(followed_up, "the app's own job to run")
    (job,) = await api.jobs("inbox_test.follow_up")
    assert job.result == {"followed_up": "5005"}


async def test_a_provider_failure_reading_the_review_is_retried(
    api: ChannelsApi, peer: ProviderPeer, signing_key: rsa.RSAPrivateKey
) -> None:
    peer.reviews["accounts/111/locations/222/reviews/AbFvOqn"] = review_resource()
    peer.fail_next("/reviews/AbFvOqn", Scripted(503, {"error": {"code": 503, "status": "UNAVAILABLE"}}))
    bearer = {"Authorization": f"Bearer {push_token(signing_key)}"}
    await api.client.post(
        "/api/v1/webhooks/google", json=pubsub_push(review_notification(), "91"), headers=bearer
    )
    await api.start_worker()
    await api.wait_for(lambda: _len_at_least(api, 1), "the review to be handed over")
    (job,) = await api.jobs()
    assert job.attempts == 2
    assert len(peer.calls_to("/reviews/AbFvOqn")) == 2
    assert [m.rating for m in api.inbox.received] == [4]


async def test_processing_twice_hands_the_message_over_once(sqlite_api: ChannelsApi) -> None:
    await sqlite_api.client.post(
        "/api/v1/webhooks/ringcentral",
        json=ringcentral_delivery("4004"),
        headers={"Verification-Token": "rc-verification-token"},
    )
    (event,) = await sqlite_api.events()
    assert event.payload != {}  # kept until it is handed over (a failed handler is retried from it)
    runtime, handlers = sqlite_api.runtime, sqlite_api.runtime.inbound_handlers()
    assert handlers == [sqlite_api.inbox.handle]
    first = await process_event(runtime.db, runtime.settings, event.id, handlers)
    second = await process_event(runtime.db, runtime.settings, event.id, handlers)
    assert (first["status"], second["status"]) == ("processed", "already_processed")
    assert sqlite_api.inbox.calls == 1
    assert await sqlite_api.count(InboundEvent, InboundEvent.processed_at.is_not(None)) == 1
    assert [stored.payload for stored in await sqlite_api.events()] == [{}]


async def test_processing_an_unknown_event_fails_permanently(sqlite_api: ChannelsApi) -> None:
    runtime = sqlite_api.runtime
    with pytest.raises(PermanentJobError) as caught:
        await process_event(runtime.db, runtime.settings, uuid.uuid4(), [])
    assert caught.value.code == "event_missing"
