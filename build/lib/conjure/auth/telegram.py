"""Telegram Mini App ``initData`` validation, exactly as Telegram specifies it.

https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app:
data_check_string = the received fields except ``hash``, as ``key=value`` sorted by key,
joined by ``\\n``; secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token);
valid when hex(HMAC_SHA256(key=secret_key, msg=data_check_string)) == hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

CLOCK_SKEW_SECONDS = 60


class TelegramInitDataError(Exception):
    """The init data is malformed, badly signed or stale; ``reason`` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TelegramUser:
    """The ``user`` field of verified init data."""

    id: int
    name: str | None
    username: str | None
    photo_url: str | None


def data_check_string(fields: dict[str, str]) -> str:
    """The string Telegram signs: every field but ``hash``, sorted, ``key=value`` per line."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def sign(fields: dict[str, str], bot_token: str) -> str:
    """The hex HMAC Telegram would put in ``hash`` for these fields."""
    secret_key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret_key, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def _parse(init_data: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise TelegramInitDataError("malformed") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise TelegramInitDataError("duplicate_field")
    return fields


def verify_init_data(
    init_data: str, bot_token: str, *, max_age_seconds: int, now: float | None = None
) -> TelegramUser:
    """The user in ``init_data`` when its signature is valid and ``auth_date`` is fresh."""
    fields = _parse(init_data)
    received = fields.get("hash", "")
    expected = sign(fields, bot_token)
    if not hmac.compare_digest(expected.encode(), received.encode()):
        raise TelegramInitDataError("bad_signature")
    try:
        auth_date = int(fields["auth_date"])
    except (KeyError, ValueError):
        raise TelegramInitDataError("missing_auth_date") from None
    now = time.time() if now is None else now
    if now - auth_date > max_age_seconds or auth_date - now > CLOCK_SKEW_SECONDS:
        raise TelegramInitDataError("stale")
    try:
        raw_user = json.loads(fields["user"])
        user_id = int(raw_user["id"])
    except (KeyError, ValueError, TypeError):
        raise TelegramInitDataError("missing_user") from None
    name = " ".join(str(raw_user[k]) for k in ("first_name", "last_name") if raw_user.get(k)) or None
    return TelegramUser(
        id=user_id,
        name=name[:200] if name else None,
        username=raw_user.get("username"),
        photo_url=str(raw_user["photo_url"])[:1000] if raw_user.get("photo_url") else None,
    )
