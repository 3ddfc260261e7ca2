"""Telegram Mini App login: init data signed exactly as Telegram signs it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conjure.auth.telegram import TelegramInitDataError, verify_init_data
from tests.auth.conftest import ClientFactory

BOT_TOKEN = "123456:TEST-bot-token"
URL = "/api/v1/auth/telegram"


def telegram_init_data(bot_token: str = BOT_TOKEN, *, auth_date: int | None = None, user_id: int = 42) -> str:
    """Build init data the way Telegram's servers do (written from the spec, independently of the app)."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(
            {"id": user_id, "first_name": "Ada", "last_name": "L", "username": "ada", "language_code": "en"},
            separators=(",", ":"),
        ),
        "auth_date": str(auth_date if auth_date is not None else int(time.time())),
    }
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


async def test_valid_init_data_signs_in_and_links_the_same_user(api: ClientFactory) -> None:
    async with api(telegram_bot_token=BOT_TOKEN) as (client, _):
        first = await client.post(URL, json={"init_data": telegram_init_data()})
        assert first.status_code == 200, first.text
        again = await client.post(URL, json={"init_data": telegram_init_data()})
        other = await client.post(URL, json={"init_data": telegram_init_data(user_id=43)})
    user = first.json()["user"]
    assert user["external_provider"] == "telegram"
    assert user["name"] == "Ada L"
    assert again.json()["user"]["id"] == user["id"]
    assert other.json()["user"]["id"] != user["id"]


def _flip_one_byte(init_data: str) -> str:
    # Change one character of the signed user JSON ("Ada" -> "Adb").
    return init_data.replace("Ada", "Adb", 1)


@pytest.mark.parametrize(
    "init_data",
    [
        pytest.param(_flip_one_byte(telegram_init_data()), id="one-changed-byte"),
        pytest.param(telegram_init_data(auth_date=int(time.time()) - 86400 - 120), id="stale-auth-date"),
        pytest.param(telegram_init_data("999:other-bot"), id="other-bot"),
        pytest.param(telegram_init_data().rsplit("&hash=", 1)[0], id="no-hash"),
        pytest.param(telegram_init_data() + "&auth_date=1", id="duplicate-field"),
        pytest.param("%%%", id="garbage"),
    ],
)
async def test_tampered_or_stale_init_data_is_refused(api: ClientFactory, init_data: str) -> None:
    async with api(telegram_bot_token=BOT_TOKEN) as (client, _):
        answer = await client.post(URL, json={"init_data": init_data})
    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_init_data"


async def test_telegram_not_configured_is_503(api: ClientFactory) -> None:
    async with api() as (client, _):
        answer = await client.post(URL, json={"init_data": telegram_init_data()})
    assert answer.status_code == 503
    assert answer.json()["code"] == "telegram_not_configured"


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_changed_character_in_any_field_is_refused(data: st.DataObject) -> None:
    init_data = telegram_init_data(user_id=data.draw(st.integers(1, 2**40)))
    now = time.time()
    assert verify_init_data(init_data, BOT_TOKEN, max_age_seconds=86400, now=now).name == "Ada L"
    fields = dict(parse_qsl(init_data))
    key = data.draw(st.sampled_from(sorted(fields)))
    value = fields[key]
    position = data.draw(st.integers(0, len(value) - 1))
    replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != value[position]))
    fields[key] = value[:position] + replacement + value[position + 1 :]
    with pytest.raises(TelegramInitDataError):
        verify_init_data(urlencode(fields), BOT_TOKEN, max_age_seconds=86400, now=now)
