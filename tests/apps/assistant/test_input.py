"""What a person may type: text the database cannot store (NUL, other control characters) is refused
with the same 422 naming the field on both backends, while emoji, Thai, right-to-left text, tabs
and new lines go through as written."""

from __future__ import annotations

import pytest

from tests.apps.assistant.conftest import Chat

BASE = "/api/v1/assistant/conversations"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("messages", {"content": "my name is\x00 Dao"}, "content"),
        ("messages", {"content": "bell \x07 in the middle"}, "content"),
        ("conversation", {"title": "plans\x00"}, "title"),
        ("rename", {"title": "plans\x00"}, "title"),
        ("meditation", {"theme": "sleep\x00", "minutes": 3}, "theme"),
    ],
)
async def test_control_characters_are_refused_naming_the_field(
    chat: Chat, path: str, body: dict[str, object], field: str
) -> None:
    conversation = await chat.conversation()
    method, url = {
        "messages": ("POST", f"{BASE}/{conversation}/messages"),
        "conversation": ("POST", BASE),
        "rename": ("PATCH", f"{BASE}/{conversation}"),
        "meditation": ("POST", "/api/v1/assistant/meditations"),
    }[path]
    refused = await chat.client.request(method, url, json=body, headers=chat.headers)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "validation_error"
    assert [error["field"] for error in problem["errors"]] == [field]
    listed = await chat.client.get(f"{BASE}/{conversation}/messages", headers=chat.headers)
    assert listed.json()["items"] == []


async def test_emoji_thai_right_to_left_tabs_and_new_lines_are_kept(chat: Chat) -> None:
    conversation = await chat.conversation()
    text = "สวัสดี 🏔️ ฉันชื่อดาว\nمرحبا، اسمي سارة\tok"
    accepted = await chat.send(conversation, text)
    listed = await chat.client.get(f"{BASE}/{conversation}/messages", headers=chat.headers)
    mine = next(m for m in listed.json()["items"] if m["id"] == accepted["message_id"])
    assert mine["content"] == text
    renamed = await chat.client.patch(
        f"{BASE}/{conversation}", json={"title": "ทริป 🏔️ مرحبا"}, headers=chat.headers
    )
    assert (renamed.status_code, renamed.json()["title"]) == (200, "ทริป 🏔️ مرحبا")
