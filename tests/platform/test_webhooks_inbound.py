"""The rule for every signed inbound webhook: a fresh timestamp either way, HMAC in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from conjure.webhooks_inbound import InvalidSignature, check_timestamp, hmac_matches

NOW = 1_800_000_000.0


@pytest.mark.parametrize("skew", [0, 1, -1, 299, -299, 300, -300])
def test_timestamps_within_tolerance_pass(skew: int) -> None:
    check_timestamp(NOW + skew, 300, source="test", now=NOW)


@pytest.mark.parametrize(
    ("skew", "reason"),
    [(301, "timestamp_in_future"), (86_400, "timestamp_in_future"), (-301, "timestamp_too_old")],
)
def test_timestamps_outside_tolerance_fail_either_way(skew: int, reason: str) -> None:
    with pytest.raises(InvalidSignature) as caught:
        check_timestamp(NOW + skew, 300, source="test", now=NOW)
    assert (caught.value.status, caught.value.code) == (400, "invalid_signature")
    assert caught.value.extra == {"reason": reason}


def test_a_zero_tolerance_is_a_configuration_error_not_no_check() -> None:
    with pytest.raises(ValueError, match="positive"):
        check_timestamp(NOW, 0, source="test", now=NOW)


def test_hmac_matches_any_secret_and_encoding() -> None:
    message = b"1800000000.{}"
    mac = hmac.new(b"new", message, hashlib.sha256).digest()
    assert hmac_matches(["old", "new"], message, ["deadbeef", mac.hex()])
    assert hmac_matches([b"new"], message, [base64.b64encode(mac).decode()], encoding="base64")
    assert not hmac_matches(["old"], message, [mac.hex()])
    assert not hmac_matches(["new"], message + b" ", [mac.hex()])
    assert not hmac_matches(["", b""], message, [""])
    sha1 = hmac.new(b"k", message, hashlib.sha1).hexdigest()
    assert hmac_matches(["k"], message, [sha1], digest="sha1")
    assert not hmac_matches(["k"], message, [sha1])
