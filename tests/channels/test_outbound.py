"""Outbound: RingCentral SMS, WhatsApp Cloud API and review replies against the peer; errors classified."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
from structlog.testing import capture_logs

from conjure.channels.errors import (
    ChannelCannotSend,
    ChannelNotConfigured,
    ChannelRejected,
    ChannelUnavailable,
    problem_for,
)
from conjure.channels.outbound import publish_review_reply, review_path, send_message
from conjure.jobs.registry import PermanentJobError, RetryableJobError
from conjure.settings import Settings
from tests.channels.peers import (
    CUSTOMER,
    OUR_NUMBER,
    PHONE_NUMBER_ID,
    ProviderPeer,
    Scripted,
    channel_settings,
)

SMS_PATH = "/restapi/v1.0/account/~/extension/~/sms"
WA_PATH = f"/v21.0/{PHONE_NUMBER_ID}/messages"


@pytest.fixture
def settings(make_settings: Callable[..., Settings], peer: ProviderPeer) -> Settings:
    return make_settings(**channel_settings(peer.url))


async def test_sms_is_sent_with_a_jwt_flow_token_fetched_once(settings: Settings, peer: ProviderPeer) -> None:
    first = await send_message(settings, "sms", OUR_NUMBER, CUSTOMER, "Your booking is confirmed.")
    second = await send_message(settings, "sms", OUR_NUMBER, CUSTOMER, "See you Friday.")
    assert first == second == "7001"
    (token_call,) = peer.calls_to("/restapi/oauth/token")
    basic = base64.b64decode(token_call.headers["authorization"].removeprefix("Basic ")).decode()
    assert basic == "rc-client:rc-secret"
    form = parse_qs(token_call.body.decode())
    assert form == {
        "grant_type": ["urn:ietf:params:oauth:grant-type:jwt-bearer"],
        "assertion": ["rc-jwt-credential"],
    }
    sends = peer.calls_to(SMS_PATH)
    assert [call.json() for call in sends] == [
        {
            "from": {"phoneNumber": OUR_NUMBER},
            "to": [{"phoneNumber": CUSTOMER}],
            "text": "Your booking is confirmed.",
        },
        {"from": {"phoneNumber": OUR_NUMBER}, "to": [{"phoneNumber": CUSTOMER}], "text": "See you Friday."},
    ]
    assert sends[0].headers["authorization"] == sends[1].headers["authorization"]


async def test_whatsapp_text_is_sent_through_the_cloud_api(settings: Settings, peer: ProviderPeer) -> None:
    sent = await send_message(settings, "whatsapp", "", CUSTOMER, "Hello from Station One")
    assert sent == "wamid.HBgLMTQxNTU1NTAxMjMVAgARGBI"
    (call,) = peer.calls_to(WA_PATH)
    assert call.headers["authorization"] == "Bearer wa-access-token"
    assert call.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "14155550123",
        "type": "text",
        "text": {"preview_url": False, "body": "Hello from Station One"},
    }


async def test_review_reply_is_put_on_the_review(settings: Settings, peer: ProviderPeer) -> None:
    await publish_review_reply(settings, "222", "AbFvOqn", "Thank you, Mali!")
    (call,) = peer.calls_to("/reply")
    assert (call.method, call.path) == ("PUT", "/v4/accounts/111/locations/222/reviews/AbFvOqn/reply")
    assert call.json() == {"comment": "Thank you, Mali!"}
    assert call.headers["authorization"].startswith("Bearer at-")
    (token_call,) = peer.calls_to("/token")
    assert parse_qs(token_call.body.decode())["grant_type"] == ["refresh_token"]


def test_review_paths_from_bare_ids_or_resource_names(settings: Settings) -> None:
    full = "accounts/111/locations/222/reviews/r1"
    assert review_path(settings, "222", "r1") == full
    assert review_path(settings, "accounts/111/locations/222", "r1") == full
    assert review_path(settings, "ignored", full) == full
    bare = settings.model_copy(update={"google_business_account_id": ""})
    with pytest.raises(ChannelNotConfigured):
        review_path(bare, "222", "r1")


async def test_a_429_is_retryable_after_the_providers_wait(settings: Settings, peer: ProviderPeer) -> None:
    peer.fail_next(
        SMS_PATH,
        Scripted(429, {"errorCode": "CMN-301", "message": "Request rate exceeded"}, {"Retry-After": "42"}),
    )
    with pytest.raises(ChannelUnavailable) as caught:
        await send_message(settings, "sms", OUR_NUMBER, CUSTOMER, "hi")
    assert isinstance(caught.value, RetryableJobError)
    assert (caught.value.code, caught.value.retry_after) == ("channel_unavailable", 42.0)


@pytest.mark.parametrize(
    ("channel", "path", "answer"),
    [
        ("sms", SMS_PATH, Scripted(503, {"errorCode": "CMN-211"})),
        (
            "whatsapp",
            WA_PATH,
            Scripted(500, {"error": {"message": "oops", "type": "OAuthException", "code": 2}}),
        ),
        # The Graph API answers its throughput limit with a 400 and code 130429: later, not never.
        (
            "whatsapp",
            WA_PATH,
            Scripted(400, {"error": {"message": "Rate limit hit", "code": 130429, "fbtrace_id": "x"}}),
        ),
    ],
)
async def test_5xx_and_throttling_codes_are_transient(
    settings: Settings, peer: ProviderPeer, channel: str, path: str, answer: Scripted
) -> None:
    peer.fail_next(path, answer)
    with pytest.raises(ChannelUnavailable):
        await send_message(settings, channel, "", CUSTOMER, "hi")
    # The next attempt goes through: the failure was transient indeed.
    assert await send_message(settings, channel, OUR_NUMBER if channel == "sms" else "", CUSTOMER, "hi")


@pytest.mark.parametrize(
    ("channel", "path", "answer", "code"),
    [
        (
            "sms",
            SMS_PATH,
            Scripted(400, {"errorCode": "MSG-304", "message": "Phone number is invalid"}),
            "MSG-304",
        ),
        (
            "whatsapp",
            WA_PATH,
            Scripted(400, {"error": {"message": "Re-engagement message", "code": 131047, "fbtrace_id": "y"}}),
            "131047",
        ),
    ],
)
async def test_other_4xx_are_permanent(
    settings: Settings, peer: ProviderPeer, channel: str, path: str, answer: Scripted, code: str
) -> None:
    peer.fail_next(path, answer)
    with pytest.raises(ChannelRejected) as caught:
        await send_message(settings, channel, OUR_NUMBER if channel == "sms" else "", CUSTOMER, "hi")
    assert isinstance(caught.value, PermanentJobError)
    assert (caught.value.status, caught.value.provider_code, caught.value.code) == (
        400,
        code,
        "channel_rejected",
    )


async def test_a_review_reply_to_a_missing_review_is_permanent(
    settings: Settings, peer: ProviderPeer
) -> None:
    peer.fail_next(
        "/reply", Scripted(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})
    )
    with pytest.raises(ChannelRejected) as caught:
        await publish_review_reply(settings, "222", "gone", "Thanks")
    assert caught.value.provider_code == "NOT_FOUND"


async def test_an_expired_access_token_is_dropped_and_renewed(settings: Settings, peer: ProviderPeer) -> None:
    peer.fail_next(SMS_PATH, Scripted(401, {"errorCode": "TokenInvalid"}))
    with pytest.raises(ChannelRejected):
        await send_message(settings, "sms", OUR_NUMBER, CUSTOMER, "hi")
    await send_message(settings, "sms", OUR_NUMBER, CUSTOMER, "hi")
    assert len(peer.calls_to("/restapi/oauth/token")) == 2


async def test_refused_credentials_mean_not_configured(settings: Settings, peer: ProviderPeer) -> None:
    peer.fail_next("/restapi/oauth/token", Scripted(400, {"error": "invalid_grant"}))
    with pytest.raises(ChannelNotConfigured):
        await send_message(settings, "sms", OUR_NUMBER, CUSTOMER, "hi")


@pytest.mark.parametrize(
    ("channel", "missing"),
    [("sms", {"ringcentral_jwt": None}), ("whatsapp", {"whatsapp_access_token": None})],
)
async def test_unconfigured_channels_send_nothing(
    make_settings: Callable[..., Settings], peer: ProviderPeer, channel: str, missing: dict[str, Any]
) -> None:
    settings = make_settings(**{**channel_settings(peer.url), **missing})
    with pytest.raises(ChannelNotConfigured):
        await send_message(settings, channel, OUR_NUMBER, CUSTOMER, "hi")
    assert peer.calls == []


async def test_google_and_unknown_channels_cannot_send(settings: Settings, peer: ProviderPeer) -> None:
    for channel in ("google", "telegram"):
        with pytest.raises(ChannelCannotSend):
            await send_message(settings, channel, "x", "y", "hi")
    with pytest.raises(ChannelRejected):
        await send_message(settings, "sms", OUR_NUMBER, CUSTOMER, "   ")
    assert peer.calls == []


async def test_an_unreachable_provider_is_transient(make_settings: Callable[..., Settings]) -> None:
    # Port 9 (discard): nothing listens there on the test machine, so the connection is refused.
    settings = make_settings(
        **{**channel_settings("http://127.0.0.1:9"), "channels_http_timeout_seconds": 2.0}
    )
    with pytest.raises(ChannelUnavailable):
        await send_message(settings, "whatsapp", "", CUSTOMER, "hi")


async def test_tokens_and_texts_are_never_logged(settings: Settings, peer: ProviderPeer) -> None:
    peer.fail_next(WA_PATH, Scripted(400, {"error": {"message": "bad", "code": 100, "fbtrace_id": "z"}}))
    peer.fail_next(SMS_PATH, Scripted(503, {"errorCode": "CMN-211"}))
    with capture_logs() as logs:
        with pytest.raises(ChannelRejected) as rejected:
            await send_message(settings, "whatsapp", "", CUSTOMER, "secret party plans")
        with pytest.raises(ChannelUnavailable) as unavailable:
            await send_message(settings, "sms", OUR_NUMBER, CUSTOMER, "secret party plans")
    assert [entry["event"] for entry in logs] == ["channel_provider_error", "channel_provider_error"]
    printed = repr(logs) + str(rejected.value) + str(unavailable.value)
    issued = [call.headers["authorization"].removeprefix("Bearer ") for call in peer.calls_to(SMS_PATH)]
    for secret in ("wa-access-token", "rc-secret", "rc-jwt-credential", "secret party plans", *issued):
        assert secret not in printed


def test_routes_get_a_problem_for_each_channel_error() -> None:
    throttled = problem_for(ChannelUnavailable("later", retry_after=41.6))
    assert (throttled.status, throttled.code, throttled.headers) == (
        503,
        "channel_unavailable",
        {"Retry-After": "42"},
    )
    refused = problem_for(ChannelRejected("no", status=400, provider_code="131047"))
    assert (refused.status, refused.code, refused.extra) == (
        502,
        "channel_rejected",
        {"provider_code": "131047"},
    )
    assert (
        problem_for(ChannelNotConfigured("set it")).status,
        problem_for(ChannelCannotSend("x")).status,
    ) == (503, 422)
