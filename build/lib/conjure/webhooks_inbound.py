"""What every signed inbound webhook checks, whoever sends it: a fresh timestamp and a matching HMAC.

Stripe today; Replicate, Meta, RingCentral and Google when their receivers land. Each receiver
verifies its sender's signature scheme (with the sender's SDK where one exists), then calls
:func:`check_timestamp` with the *signed* timestamp, so one rule holds everywhere: a delivery
dated more than the tolerance away from now is refused, in the past (a replay of an old
capture) **and in the future** (a signature minted ahead of time to outlive the window).
SDK verifiers typically check only the past side (``stripe.WebhookSignature.verify_header``).

A receiver without an SDK (Standard Webhooks for Replicate, ``X-Hub-Signature-256`` for Meta)
uses :func:`hmac_matches` for the constant-time compare against every configured secret
(rotation). Replays *inside* the window are the receiver's dedupe table's job
(``processed_events``), not this module's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable, Sequence
from typing import Literal

import structlog

from conjure.errors import ConjureError

log = structlog.get_logger("conjure.webhooks_inbound")


class InvalidSignature(ConjureError):
    """400 ``invalid_signature``: a bad, missing, stale or future-dated webhook signature."""

    code, status = "invalid_signature", 400


def check_timestamp(
    timestamp: float, tolerance_seconds: float, *, source: str, now: float | None = None
) -> None:
    """Refuse a signed timestamp more than ``tolerance_seconds`` from now, either way.

    Exactly ``tolerance_seconds`` away is still accepted (the senders' own SDKs draw the
    line there too); a tolerance ≤ 0 is a configuration error, not "no check".
    """
    if tolerance_seconds <= 0:
        raise ValueError("a webhook timestamp tolerance must be positive")
    skew = timestamp - (time.time() if now is None else now)
    if abs(skew) <= tolerance_seconds:
        return
    reason = "timestamp_in_future" if skew > 0 else "timestamp_too_old"
    log.warning("inbound_webhook_refused", source=source, reason=reason, skew_seconds=round(skew))
    raise InvalidSignature(
        f"The {source} webhook's signed timestamp is {abs(round(skew))} s "
        f"{'ahead of' if skew > 0 else 'behind'} our clock; the tolerance is {tolerance_seconds:g} s.",
        extra={"reason": reason},
    )


def hmac_matches(
    secrets: Sequence[str | bytes],
    message: bytes,
    signatures: Iterable[str],
    *,
    digest: Literal["sha256", "sha1"] = "sha256",
    encoding: Literal["hex", "base64"] = "hex",
) -> bool:
    """True when some signature equals HMAC(secret, message) for some secret (constant time).

    Every (secret, signature) pair is compared, so the time taken does not tell which
    secret or which signature came close.
    """
    candidates = [s.strip() for s in signatures if s and s.strip()]
    matched = False
    for secret in secrets:
        key = secret.encode() if isinstance(secret, str) else secret
        if not key:
            continue
        mac = hmac.new(key, message, getattr(hashlib, digest)).digest()
        expected = mac.hex() if encoding == "hex" else base64.b64encode(mac).decode()
        for candidate in candidates:
            matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    return matched
