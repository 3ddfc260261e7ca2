"""Seed 002 over HTTP: conversations, a message answered as a stream of deltas, stored once, in order."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from conjure.apps.assistant.models import Message
from conjure.apps.assistant.responders import OfflineResponder
from conjure.events.types import EventId
from conjure.jobs.models import JobStatus
from conjure.jobs.runner import Runner
from conjure.jobs.service import events_after
from conjure.jobs.types import Delivery
from tests.apps.assistant.conftest import Chat, use_responder
from tests.apps.conftest import MakeApi

BASE = "/api/v1/assistant/conversations"


async def test_conversations_crud_paging_and_ownership(chat: Chat) -> None:
    ids = [await chat.conversation(f"Talk {i}") for i in range(3)]
    page = (await chat.client.get(f"{BASE}?limit=2", headers=chat.headers)).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [c["id"] for c in page["items"]] == ids[::-1][:2]
    renamed = await chat.client.patch(
        f"{BASE}/{ids[0]}", json={"title": "  Plans   for May "}, headers=chat.headers
    )
    assert renamed.json()["title"] == "Plans for May"
    detail = (await chat.client.get(f"{BASE}/{ids[0]}", headers=chat.headers)).json()
    assert (detail["title"], detail["messages"]) == ("Plans for May", [])
    _, stranger = await chat.api.user()
    for method in ("GET", "PATCH", "DELETE"):
        response = await chat.client.request(
            method, f"{BASE}/{ids[0]}", json={"title": "x"}, headers=stranger
        )
        assert response.status_code == 404, method
    foreign = await chat.client.post(f"{BASE}/{ids[0]}/messages", json={"content": "hi"}, headers=stranger)
    assert foreign.status_code == 404
    assert (await chat.client.delete(f"{BASE}/{ids[1]}", headers=chat.headers)).status_code == 204
    assert (await chat.client.get(f"{BASE}/{ids[1]}", headers=chat.headers)).status_code == 404
    assert (await chat.client.get(BASE)).status_code == 401
    empty = await chat.client.post(f"{BASE}/{ids[0]}/messages", json={"content": "   "}, headers=chat.headers)
    assert empty.status_code == 422


async def test_answer_streams_in_order_then_completes_and_is_stored(chat: Chat) -> None:
    use_responder(chat.api, OfflineResponder(chunk_delay=0.002))
    conversation = await chat.conversation()
    accepted = await chat.send(conversation, "What should I cook tonight?")
    assert accepted["status"] in ("queued", "answering")
    [completed] = await chat.events("message.completed")
    deltas = await chat.events("message.delta", count=completed["deltas"])
    assert [d["index"] for d in deltas] == list(range(len(deltas)))
    assert {d["message_id"] for d in deltas} == {accepted["answer_id"]}
    assert "".join(d["delta"] for d in deltas) == completed["text"]
    assert completed["text"].startswith("I'm running offline")  # honest about having no model
    assert (completed["model"], completed["route"], completed["price_stars"]) == ("offline", "offline", 0)
    assert completed["output_tokens"] > 0
    items = await chat.answered(conversation, 1)
    assert [(m["role"], m["status"]) for m in items] == [("user", "answered"), ("assistant", "complete")]
    assert items[1]["id"] == accepted["answer_id"]
    assert (items[1]["content"], items[1]["model"], items[1]["reply_to"]) == (
        completed["text"],
        "offline",
        accepted["message_id"],
    )
    # The job's own stream has the same deltas as progress steps, stored for Last-Event-ID replay.
    async with chat.api.runtime.db.session() as session:
        stored = await events_after(session, uuid.UUID(accepted["job_id"]), 0)
    steps = [e for e in stored if e.get("step") == "message.delta"]
    assert "".join(e["data"]["delta"] for e in steps) == completed["text"]
    assert [e["seq"] for e in steps] == sorted(e["seq"] for e in steps)
    assert stored[-2]["step"] == "message.completed"
    assert stored[-1]["type"] == "succeeded"
    conversation_view = (await chat.client.get(f"{BASE}/{conversation}", headers=chat.headers)).json()
    assert conversation_view["title"] == "What should I cook tonight?"
    assert conversation_view["message_count"] == 2


async def test_reconnect_replays_the_rest_of_the_answer(chat: Chat) -> None:
    use_responder(chat.api, OfflineResponder(chunk_delay=0.002))
    conversation = await chat.conversation()
    await chat.send(conversation, "Tell me something.")
    [completed] = await chat.events("message.completed")
    everything = [
        e
        for e in await chat.api.runtime.user_events.replay(chat.user_id, EventId(0, 0))
        if e.type == "message.delta"
    ]
    assert len(everything) >= 3
    seen = everything[1].id  # the client got two deltas, then lost its connection
    resumed = [
        e for e in await chat.api.runtime.user_events.replay(chat.user_id, seen) if e.type == "message.delta"
    ]
    assert [e.payload()["index"] for e in resumed] == list(range(2, len(everything)))
    text = "".join(e.payload()["delta"] for e in everything[:2] + resumed)
    assert text == completed["text"]


async def test_second_message_waits_for_the_first_answer(chat: Chat) -> None:
    use_responder(chat.api, OfflineResponder(chunk_delay=0.01))
    conversation = await chat.conversation()
    first = await chat.send(conversation, "First question")
    second = await chat.send(conversation, "Second question")
    completed = await chat.events("message.completed", count=2)
    assert [c["reply_to"] for c in completed] == [first["message_id"], second["message_id"]]
    deltas = await chat.events("message.delta", count=sum(c["deltas"] for c in completed))
    owners = [d["message_id"] for d in deltas]
    # Never interleaved: every delta of the first answer comes before any of the second.
    assert owners == sorted(owners, key=[first["answer_id"], second["answer_id"]].index)
    items = await chat.answered(conversation, 2)
    assert [m["content"] for m in items][::2] == ["First question", "Second question"]
    assert [m["role"] for m in items] == ["user", "assistant", "user", "assistant"]


async def test_too_many_unanswered_messages_are_refused(make_api: MakeApi, sqlite_url: str) -> None:
    api = await make_api(
        database_url=sqlite_url, assistant_max_pending_messages=2
    )  # no worker: none answered
    _, headers = await api.user()
    chat = Chat(api, headers, uuid.uuid4())
    conversation = await chat.conversation()
    await chat.send(conversation, "one")
    await chat.send(conversation, "two")
    refused = await chat.client.post(
        f"{BASE}/{conversation}/messages", json={"content": "three"}, headers=headers
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "answers_pending")
    too_long = await chat.client.post(
        f"{BASE}/{await chat.conversation()}/messages", json={"content": "x" * 4001}, headers=headers
    )
    assert (too_long.status_code, too_long.json()["code"]) == (422, "message_too_long")


async def test_duplicate_delivery_stores_the_answer_once(make_api: MakeApi, backend: dict[str, str]) -> None:
    api = await make_api(**backend)  # no worker: the test delivers the job itself, twice
    user, headers = await api.user()
    chat = Chat(api, headers, user.id)
    accepted = await chat.send(await chat.conversation(), "Remember this once")
    job_id = uuid.UUID(accepted["job_id"])
    first, second = Runner(api.runtime, "worker-a"), Runner(api.runtime, "worker-b")
    delivery, duplicate = Delivery(job_id=job_id, ref="1-0"), Delivery(job_id=job_id, ref="2-0")
    (claims_a, _), (claims_b, _) = await asyncio.gather(
        first.claim([delivery, duplicate]), second.claim([duplicate])
    )
    assert len(claims_a + claims_b) == 1
    winner = first if claims_a else second
    await winner.run((claims_a + claims_b)[0])
    await winner.drain()
    assert (await (second if claims_a else first).claim([delivery]))[0] == []
    job = await api.job(job_id)
    assert job.status == JobStatus.SUCCEEDED
    # The hook itself, run again on the stored result (a replayed finish), adds nothing.
    from conjure.apps.assistant.tasks import save_answer

    async with api.runtime.db.session() as session:
        assert await save_answer(session, job, dict(job.result or {})) == []
    async with api.runtime.db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.role == "assistant")
        )
    assert count == 1
