"""Stopping an answer while it streams (the page's Stop: ``POST /api/v1/jobs/{job_id}/cancel``):
the model stops, nothing is charged (the platform charges only on success: a priced answer's
hold is released), the partial answer is not stored, and the next message is answered."""

from __future__ import annotations

import asyncio

from conjure.events.types import START
from tests.apps.assistant.conftest import Chat, hybrid
from tests.apps.assistant.openai_peer import OpenAIPeer
from tests.apps.conftest import MakeApi

WORDS = [f"word{i}" for i in range(40)]


async def test_a_stopped_answer_is_not_charged_nor_stored_and_the_next_is_answered(
    make_api: MakeApi, backend: dict[str, str], local_peer: OpenAIPeer
) -> None:
    local_peer.reply, local_peer.token_delay = " ".join(WORDS), 0.1  # 4 s for the whole answer
    api = await make_api(
        **backend,
        **hybrid(local_peer),
        assistant_memory_extractor="patterns",
        assistant_daily_messages=0,
        assistant_job_stream_flush_ms=100,
    )
    await api.start_worker()
    user, headers = await api.user(stars=3)
    chat = Chat(api, headers, user.id)
    conversation = await chat.conversation()
    accepted = await chat.send(conversation, "Tell me a long story")
    assert accepted["priced"]
    [first] = await chat.events("message.delta")
    assert first["job_id"] == accepted["job_id"]  # a tab that did not send it can stop it too
    assert await api.balances(user) == (3, 1)  # held while it is written
    stopped = await chat.client.post(f"/api/v1/jobs/{accepted['job_id']}/cancel", headers=headers)
    assert stopped.status_code == 200, stopped.text
    [canceled] = await chat.events("job.canceled")
    assert canceled["job_id"] == accepted["job_id"]
    assert await api.balances(user) == (3, 0)  # released: nothing charged
    words = len("".join(await _deltas(chat)).split())
    assert 0 < words < len(WORDS)
    await asyncio.sleep(0.5)
    assert len("".join(await _deltas(chat)).split()) == words  # stopped: no more words arrive
    assert local_peer.dropped == 1  # the model's stream was closed: it stopped writing too
    items = (
        await chat.client.get(f"/api/v1/assistant/conversations/{conversation}/messages", headers=headers)
    ).json()["items"]
    assert [(m["role"], m["status"]) for m in items] == [("user", "canceled")]  # no partial answer kept
    assert await chat.events("message.completed", count=0) == []

    local_peer.token_delay = 0.0
    again = await chat.send(conversation, "Then a short one, please")
    [completed] = await chat.events("message.completed")
    assert completed["reply_to"] == again["message_id"]
    assert completed["text"] == " ".join(WORDS)
    assert await api.balances(user) == (2, 0)  # this one was answered: charged
    items = await chat.answered(conversation, 1)
    assert [(m["role"], m["status"]) for m in items] == [
        ("user", "canceled"),
        ("user", "answered"),
        ("assistant", "complete"),
    ]


async def _deltas(chat: Chat) -> list[str]:
    sent = await chat.api.runtime.user_events.replay(chat.user_id, START)
    return [str(event.payload()["delta"]) for event in sent if event.type == "message.delta"]
