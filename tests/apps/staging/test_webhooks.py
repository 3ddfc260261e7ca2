"""Standard Webhooks verification of Replicate's callbacks, in isolation."""

from __future__ import annotations

import time

import pytest

from conjure.apps.staging.webhooks import InvalidSignature, sign, verify
from tests.apps.staging.replicate_peer import SECRET, signed_headers

BODY = b'{"id":"p1","status":"succeeded"}'


def test_the_app_signs_as_replicate_does() -> None:
    now = int(time.time())
    assert signed_headers(SECRET, "msg_1", now, BODY)["webhook-signature"] == sign(
        SECRET, "msg_1", str(now), BODY
    )


def test_a_good_signature_among_several_passes() -> None:
    now = int(time.time())
    good = sign(SECRET, "msg_1", str(now), BODY)
    verify(
        SECRET,
        webhook_id="msg_1",
        timestamp=str(now),
        signatures=f"v1,bogus {good}",
        body=BODY,
        tolerance_seconds=300,
    )


@pytest.mark.parametrize(
    ("webhook_id", "offset", "body"),
    [("msg_2", 0, BODY), ("msg_1", 0, BODY + b" "), ("msg_1", -301, BODY), ("msg_1", 301, BODY)],
    ids=["other-id", "other-body", "too-old", "from-the-future"],
)
def test_anything_changed_or_out_of_time_is_refused(webhook_id: str, offset: int, body: bytes) -> None:
    now = int(time.time())
    signed_at = str(now + offset)
    signature = sign(SECRET, "msg_1", signed_at if offset else str(now), BODY)
    with pytest.raises(InvalidSignature):
        verify(
            SECRET,
            webhook_id=webhook_id,
            timestamp=signed_at,
            signatures=signature,
            body=body,
            tolerance_seconds=300,
        )


def test_a_timestamp_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        verify(SECRET, webhook_id="m", timestamp="soon", signatures="v1,x", body=BODY, tolerance_seconds=300)
