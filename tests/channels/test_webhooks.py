"""Each channel's webhook: valid deliveries stored once with one job; forged, replayed and stale refused."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.channels.conftest import ChannelsApi
from tests.channels.peers import (
    business_message,
    meta_signature,
    pubsub_push,
    push_token,
    review_notification,
    ringcentral_delivery,
    whatsapp_delivery,
)

RC_HEADERS = {"Verification-Token": "rc-verification-token"}
RC_PATH, META_PATH, GOOGLE_PATH = (
    "/api/v1/webhooks/ringcentral",
    "/api/v1/webhooks/meta",
    "/api/v1/webhooks/google",
)


def _meta_headers(body: bytes, secret: str = "meta-app-secret") -> dict[str, str]:
    return {"X-Hub-Signature-256": meta_signature(secret, body), "Content-Type": "application/json"}


def _refused(response: Any, reason: str | None = None) -> None:
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "invalid_signature"
    if reason is not None:
        assert problem["reason"] == reason


# RingCentral


async def test_ringcentral_validation_handshake_echoes_the_token(sqlite_api: ChannelsApi) -> None:
    response = await sqlite_api.client.post(RC_PATH, headers={"Validation-Token": "d7b3a2f0-handshake"})
    assert response.status_code == 200
    assert response.headers["validation-token"] == "d7b3a2f0-handshake"
    assert len(response.content) + sum(len(k) + len(v) for k, v in response.headers.items()) < 1024
    assert await sqlite_api.events() == []


async def test_ringcentral_sms_is_stored_once_with_one_job(api: ChannelsApi) -> None:
    delivery = ringcentral_delivery("1001")
    first = await api.client.post(RC_PATH, json=delivery, headers=RC_HEADERS)
    assert first.status_code == 200, first.text
    assert first.json() == {"stored": 1, "duplicate": 0}
    # RingCentral redelivers (a new uuid, a new timestamp) the same message: stored once.
    again = await api.client.post(RC_PATH, json=ringcentral_delivery("1001"), headers=RC_HEADERS)
    assert again.json() == {"stored": 0, "duplicate": 1}
    events = await api.events()
    assert [(e.channel, e.provider_message_id) for e in events] == [("sms", "1001")]
    assert events[0].payload["body"]["subject"] == "Do you have a table for 8 on Friday?"
    jobs = await api.jobs()
    assert [job.payload for job in jobs] == [{"event_id": str(events[0].id)}]


async def test_ringcentral_refuses_a_wrong_or_missing_verification_token(sqlite_api: ChannelsApi) -> None:
    delivery = ringcentral_delivery()
    wrong = await sqlite_api.client.post(RC_PATH, json=delivery, headers={"Verification-Token": "guess"})
    _refused(wrong, "bad_verification_token")
    missing = await sqlite_api.client.post(RC_PATH, json=delivery)
    _refused(missing, "bad_verification_token")
    assert await sqlite_api.events() == []


@pytest.mark.parametrize(("skew", "reason"), [(-310, "timestamp_too_old"), (310, "timestamp_in_future")])
async def test_ringcentral_refuses_stale_and_future_notifications(
    sqlite_api: ChannelsApi, skew: int, reason: str
) -> None:
    delivery = ringcentral_delivery(at=time.time() + skew)
    _refused(await sqlite_api.client.post(RC_PATH, json=delivery, headers=RC_HEADERS), reason)
    assert await sqlite_api.events() == []


async def test_ringcentral_ignores_our_own_outbound_sms(sqlite_api: ChannelsApi) -> None:
    delivery = ringcentral_delivery("2002", direction="Outbound")
    response = await sqlite_api.client.post(RC_PATH, json=delivery, headers=RC_HEADERS)
    assert response.json() == {"stored": 0, "duplicate": 0}


async def test_ringcentral_answers_503_until_configured(open_api: Any, sqlite_url: str) -> None:
    api = await open_api(database_url=sqlite_url, ringcentral_webhook_verification_token=None)
    response = await api.client.post(RC_PATH, json=ringcentral_delivery(), headers=RC_HEADERS)
    assert (response.status_code, response.json()["code"]) == (503, "webhooks_not_configured")


# Meta (WhatsApp Cloud API)


async def test_meta_handshake_echoes_the_challenge_for_our_verify_token(sqlite_api: ChannelsApi) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "meta-verify-token", "hub.challenge": "1158201444"}
    response = await sqlite_api.client.get(META_PATH, params=params)
    assert (response.status_code, response.text) == (200, "1158201444")
    wrong = await sqlite_api.client.get(META_PATH, params={**params, "hub.verify_token": "nope"})
    _refused(wrong, "bad_verify_token")
    assert "1158201444" not in wrong.text


async def test_whatsapp_message_is_stored_once_and_a_replay_is_a_duplicate(api: ChannelsApi) -> None:
    body = json.dumps(whatsapp_delivery("wamid.one")).encode()
    first = await api.client.post(META_PATH, content=body, headers=_meta_headers(body))
    assert first.json() == {"stored": 1, "duplicate": 0}
    replay = await api.client.post(META_PATH, content=body, headers=_meta_headers(body))
    assert replay.json() == {"stored": 0, "duplicate": 1}
    events = await api.events()
    assert [(e.channel, e.provider_message_id) for e in events] == [("whatsapp", "wamid.one")]
    assert events[0].payload["metadata"]["phone_number_id"] == "109876543210"
    assert len(await api.jobs()) == 1


async def test_whatsapp_refuses_a_forged_signature(sqlite_api: ChannelsApi) -> None:
    body = json.dumps(whatsapp_delivery()).encode()
    forged = await sqlite_api.client.post(
        META_PATH, content=body, headers=_meta_headers(body, "not-the-secret")
    )
    _refused(forged, "bad_signature")
    # A signature of another body does not cover this one.
    other = json.dumps(whatsapp_delivery(text="changed")).encode()
    swapped = await sqlite_api.client.post(META_PATH, content=other, headers=_meta_headers(body))
    _refused(swapped, "bad_signature")
    unsigned = await sqlite_api.client.post(
        META_PATH, content=body, headers={"Content-Type": "application/json"}
    )
    _refused(unsigned, "bad_signature")
    assert await sqlite_api.events() == []


@pytest.mark.parametrize(("skew", "reason"), [(-310, "timestamp_too_old"), (310, "timestamp_in_future")])
async def test_whatsapp_refuses_stale_and_future_messages(
    sqlite_api: ChannelsApi, skew: int, reason: str
) -> None:
    body = json.dumps(whatsapp_delivery(at=time.time() + skew)).encode()
    _refused(await sqlite_api.client.post(META_PATH, content=body, headers=_meta_headers(body)), reason)
    assert await sqlite_api.events() == []


async def test_whatsapp_statuses_are_acknowledged_not_stored(sqlite_api: ChannelsApi) -> None:
    body = json.dumps(whatsapp_delivery(statuses_only=True)).encode()
    response = await sqlite_api.client.post(META_PATH, content=body, headers=_meta_headers(body))
    assert response.json() == {"stored": 0, "duplicate": 0}
    assert await sqlite_api.jobs() == []


async def test_meta_refuses_a_signed_body_that_is_not_json(sqlite_api: ChannelsApi) -> None:
    body = b"not json"
    response = await sqlite_api.client.post(META_PATH, content=body, headers=_meta_headers(body))
    assert (response.status_code, response.json()["code"]) == (400, "malformed_json")


# Google (Pub/Sub push with an OIDC token)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_google_review_notification_is_stored_once(
    api: ChannelsApi, signing_key: rsa.RSAPrivateKey
) -> None:
    push = pubsub_push(review_notification(), message_id="555")
    first = await api.client.post(GOOGLE_PATH, json=push, headers=_bearer(push_token(signing_key)))
    assert first.json() == {"stored": 1, "duplicate": 0}
    # Pub/Sub redelivers a message it got no answer for with the same messageId.
    again = await api.client.post(GOOGLE_PATH, json=push, headers=_bearer(push_token(signing_key)))
    assert again.json() == {"stored": 0, "duplicate": 1}
    events = await api.events()
    assert [(e.channel, e.provider_message_id) for e in events] == [("google", "pubsub:555")]
    assert events[0].payload["review_name"] == "accounts/111/locations/222/reviews/AbFvOqn"
    assert len(await api.jobs()) == 1


async def test_google_business_message_is_deduped_by_its_message_id(
    sqlite_api: ChannelsApi, signing_key: rsa.RSAPrivateKey
) -> None:
    token = _bearer(push_token(signing_key))
    # Two Pub/Sub messages carrying the same Business Messages message (a publisher retry).
    for pubsub_id in ("1", "2"):
        await sqlite_api.client.post(
            GOOGLE_PATH, json=pubsub_push(business_message(), pubsub_id), headers=token
        )
    assert [e.provider_message_id for e in await sqlite_api.events()] == ["message:msg-abc"]


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "https://someone-else.example/push"}, "InvalidAudienceError"),
        ({"iss": "https://evil.example"}, "InvalidIssuerError"),
        ({"email": "attacker@evil.iam.gserviceaccount.com"}, "wrong_service_account"),
        ({"email_verified": False}, "wrong_service_account"),
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 3720}, "expired"),
        ({"iat": int(time.time()) + 600, "exp": int(time.time()) + 4200}, "ImmatureSignatureError"),
        ({"exp": int(time.time()) + 86_400}, "lifetime_too_long"),
        ({"email": None}, "MissingRequiredClaimError"),
    ],
)
async def test_google_refuses_tokens_not_minted_for_our_push(
    sqlite_api: ChannelsApi, signing_key: rsa.RSAPrivateKey, claims: dict[str, Any], reason: str
) -> None:
    push = pubsub_push(review_notification())
    response = await sqlite_api.client.post(
        GOOGLE_PATH, json=push, headers=_bearer(push_token(signing_key, **claims))
    )
    _refused(response, reason)
    assert await sqlite_api.events() == []


async def test_google_refuses_a_token_signed_with_another_key(
    sqlite_api: ChannelsApi, forged_key: rsa.RSAPrivateKey
) -> None:
    push = pubsub_push(review_notification())
    forged = await sqlite_api.client.post(GOOGLE_PATH, json=push, headers=_bearer(push_token(forged_key)))
    _refused(forged, "InvalidSignatureError")
    unknown_kid = await sqlite_api.client.post(
        GOOGLE_PATH, json=push, headers=_bearer(push_token(forged_key, kid="someone-elses"))
    )
    _refused(unknown_kid, "unknown_kid")
    missing = await sqlite_api.client.post(GOOGLE_PATH, json=push)
    _refused(missing, "no_bearer")
    assert await sqlite_api.events() == []


async def test_google_refuses_an_hs256_token_made_with_the_public_key(
    sqlite_api: ChannelsApi, signing_key: rsa.RSAPrivateKey
) -> None:
    import jwt

    now = int(time.time())
    claims = {"aud": "x", "iss": "https://accounts.google.com", "iat": now, "exp": now + 60, "email": "e"}
    token = jwt.encode(
        claims,
        "the-public-key-used-as-an-hmac-secret-0123456789",
        algorithm="HS256",
        headers={"kid": "test-key-1"},
    )
    push = pubsub_push(review_notification())
    _refused(
        await sqlite_api.client.post(GOOGLE_PATH, json=push, headers=_bearer(token)), "algorithm_not_allowed"
    )


async def test_google_ignores_other_notification_types(
    sqlite_api: ChannelsApi, signing_key: rsa.RSAPrivateKey
) -> None:
    push = pubsub_push({"type": "GOOGLE_UPDATE", "location": "accounts/111/locations/222"})
    response = await sqlite_api.client.post(GOOGLE_PATH, json=push, headers=_bearer(push_token(signing_key)))
    assert response.json() == {"stored": 0, "duplicate": 0}
