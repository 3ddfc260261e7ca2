"""Memory extraction: with a model configured, facts come from its JSON (parsed strictly, capped,
a near repeat replacing what was remembered); a malformed answer falls back to the patterns and
loses nothing; what a person wrote never reaches the logs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from conjure.apps.assistant import extraction
from conjure.apps.assistant.extraction import MalformedFacts, parse_model_facts
from conjure.jobs.models import Job
from tests.apps.assistant.conftest import Chat, MakeChat, hybrid
from tests.apps.assistant.openai_peer import OpenAIPeer
from tests.apps.conftest import MakeApi

MOVED = "I just moved to Chiang Mai, and my sister Ploy visits on weekends."


def facts_json(*facts: tuple[str, str]) -> str:
    return json.dumps({"facts": [{"category": c, "text": t} for c, t in facts]})


@pytest.mark.parametrize(
    ("text", "worth_a_job"),
    [
        ("What should I cook tonight with rice and eggs?", False),
        ("Can I ask you something? Tell me a joke.", False),
        ("Am I too late to start running?", False),
        ("I am vegetarian, what should I cook?", True),
        ("My sister's name is Ploy.", True),
        ("Call me Nok.", True),
        ("Do you know what I like?", True),
        (MOVED, True),
        ("ฉันชื่อมะลิค่ะ", True),
        ("ผมเป็นมังสวิรัติครับ", True),
        ("วันนี้อากาศดีจัง", False),
    ],
)
def test_only_text_where_the_person_speaks_of_themselves_gets_an_extraction_job(
    text: str, worth_a_job: bool
) -> None:
    assert extraction.might_hold_facts(text) is worth_a_job


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("ฉันชื่อมะลิ", [("name", "ชื่อมะลิ")]),
        ("ฉันชอบกาแฟดำ", [("preference", "ชอบกาแฟดำ")]),
        ("ฉันแพ้ถั่ว", [("health", "แพ้ถั่ว")]),
        ("เป้าหมายของฉันคือวิ่งมาราธอน", [("goal", "เป้าหมายคือวิ่งมาราธอน")]),
        ("ผมเป็นมังสวิรัติ", [("preference", "เป็นมังสวิรัติ")]),
        # Polite particles end the clause; a space between Thai words starts another.
        ("ดิฉันชื่อมะลินะคะ", [("name", "ชื่อมะลิ")]),
        (
            "สวัสดีครับ ผมชื่อสมชายครับ ผมชอบกาแฟดำมากเลยครับ",
            [("name", "ชื่อสมชาย"), ("preference", "ชอบกาแฟดำมาก")],
        ),
        ("เราอยากวิ่งมาราธอนปีหน้า แต่ยังไม่ได้ซ้อม", [("goal", "อยากวิ่งมาราธอนปีหน้า")]),
        ("แมวของฉันชื่อส้ม", [("person", "แมวชื่อส้ม")]),
        ("ฉันอาศัยอยู่ที่เชียงใหม่ค่ะ", [("place", "อาศัยอยู่ที่เชียงใหม่")]),
        ("วันเกิดของฉันคือ 5 มีนาคม", [("fact", "วันเกิด 5 มีนาคม")]),
        # A negation is a dislike, never a liking (English: "I don't like" is no liking either).
        ("ฉันไม่ชอบผักชี", [("preference", "ไม่ชอบผักชี")]),
        ("ผมไม่ค่อยชอบของหวานครับ", [("preference", "ไม่ค่อยชอบของหวาน")]),
        ("ฉันไม่แพ้อะไรเลย", []),
        # Questions, requests and other people's likes state nothing about the writer.
        ("ฉันชื่ออะไรนะ", []),
        ("ฉันชอบอะไรบ้าง", []),
        ("ฉันอยากรู้ว่าพรุ่งนี้ฝนจะตกไหม", []),
        ("แม่ฉันชอบปลา", []),
        ("แมวของฉันชอบปลา", []),
        ("ผมเป็นเจ้าของร้านกาแฟ", []),
    ],
)
def test_thai_first_person_statements_are_restated_in_thai(text: str, facts: list[tuple[str, str]]) -> None:
    assert [(f.category, f.content) for f in extraction.extract_facts(text, 5)] == facts


def test_a_negated_liking_is_not_stored_as_one_in_english_either() -> None:
    assert extraction.extract_facts("I don't like cilantro.", 5) == []
    disliked = extraction.extract_facts("I dislike cilantro.", 5)
    assert [f.content for f in disliked] == ["They dislike cilantro."]


def test_the_model_answer_is_parsed_strictly() -> None:
    answer = facts_json(("name", "Their name is Dao"), ("preference", "They love hiking."))
    assert [(f.category, f.content) for f in parse_model_facts(answer, 5)] == [
        ("name", "Their name is Dao."),
        ("preference", "They love hiking."),
    ]
    fenced = "```json\n" + facts_json(("goal", "They want to run a marathon.")) + "\n```"
    assert [f.content for f in parse_model_facts(fenced, 5)] == ["They want to run a marathon."]
    many = facts_json(*[("fact", f"Fact number {i}.") for i in range(8)], ("fact", "Fact number 0."))
    assert [f.content for f in parse_model_facts(many, 3)] == [
        "Fact number 0.",
        "Fact number 1.",
        "Fact number 2.",
    ]
    for malformed in (
        "Sure! " + facts_json(("name", "Their name is Dao.")),  # text around the JSON
        facts_json(("hobby", "They love hiking.")),  # not one of the categories
        json.dumps({"facts": [{"category": "name", "text": 5}]}),
        json.dumps({"facts": [{"category": "name", "text": "Dao", "confidence": 1}]}),
        json.dumps({"memories": []}),
        json.dumps([{"category": "name", "text": "Their name is Dao."}]),
        '{"facts": [',
        "",
    ):
        with pytest.raises(MalformedFacts):
            parse_model_facts(malformed, 5)
    assert parse_model_facts('{"facts": []}', 5) == []
    thai = facts_json(("preference", "ชอบเดินป่า"), ("name", "Their name is Dao"))
    assert [f.content for f in parse_model_facts(thai, 5)] == ["ชอบเดินป่า", "Their name is Dao."]


async def remember_job(chat: Chat, message_id: str, timeout: float = 20.0) -> Job:
    """The message's finished ``assistant.remember`` job."""
    from sqlalchemy import select

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with chat.api.runtime.db.session() as session:
            jobs = (await session.scalars(select(Job).where(Job.kind == "assistant.remember"))).all()
        done = [j for j in jobs if j.payload["message_id"] == message_id and j.status == "succeeded"]
        if done:
            return done[0]
        assert loop.time() < deadline, [(j.payload, j.status) for j in jobs]
        await asyncio.sleep(0.05)


async def test_facts_come_from_the_local_model_as_json(make_chat: MakeChat, local_peer: OpenAIPeer) -> None:
    local_peer.reply = facts_json(
        ("fact", "They live in Chiang Mai."), ("fact", "Their sister Ploy visits them on weekends.")
    )
    chat = await make_chat(**hybrid(local_peer))
    sent = await chat.send(await chat.conversation(), MOVED)
    memories = await chat.poll_memories(lambda items: len(items) == 2)
    assert {(m["category"], m["content"]) for m in memories} == {
        ("fact", "They live in Chiang Mai."),
        ("fact", "Their sister Ploy visits them on weekends."),
    }
    prompts = [c["body"]["messages"][-1]["content"] for c in local_peer.chat_calls()]
    asked = [p for p in prompts if "Answer with JSON only" in p]
    assert len(asked) == 1
    assert MOVED in asked[0]
    job = await remember_job(chat, sent["message_id"])
    assert job.result is not None
    assert (job.result["extracted_by"], job.result["stored"]) == (local_peer.model, 2)
    assert MOVED not in json.dumps(job.result)  # the job's row names no fact
    assert "Chiang Mai" not in json.dumps(job.result)


async def test_a_malformed_answer_falls_back_to_the_patterns_and_is_not_logged(
    make_chat: MakeChat, local_peer: OpenAIPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_peer.reply = "Sure! Your dog is Milo and you love hiking, {facts: maybe}"
    chat = await make_chat(**hybrid(local_peer))
    with capture_logs() as logs:
        # A fresh logger: the module's may have been cached by an earlier test and bypass the capture.
        monkeypatch.setattr(extraction, "log", structlog.get_logger("conjure.apps.assistant.extraction"))
        sent = await chat.send(await chat.conversation(), "My dog is called Milo and I love hiking.")
        memories = await chat.poll_memories(lambda items: len(items) == 2)
        job = await remember_job(chat, sent["message_id"])
    assert {m["content"] for m in memories} == {"Their dog is Milo.", "They love hiking."}
    assert job.result is not None
    assert job.result["extracted_by"] == "patterns"
    malformed = [entry for entry in logs if entry["event"] == "memory_extraction_malformed"]
    assert len(malformed) == 1
    assert "Milo" not in repr(logs)
    assert "hiking" not in repr(logs)


async def test_a_near_repeat_replaces_the_memory_and_the_cap_holds(
    make_api: MakeApi, backend: dict[str, str], local_peer: OpenAIPeer
) -> None:
    api = await make_api(**backend, **hybrid(local_peer), assistant_memory_max_facts=2)
    await api.start_worker()
    user, headers = await api.user(stars=3)
    chat = Chat(api, headers, user.id)
    conversation = await chat.conversation()
    local_peer.reply = facts_json(("preference", "They love green tea."))
    await chat.send(conversation, "I love green tea.")
    [first] = await chat.poll_memories(lambda items: len(items) == 1)
    await chat.answered(conversation, 1)
    local_peer.reply = facts_json(
        ("preference", "They love green tea lattes."),
        ("goal", "They want to learn Thai."),
        ("fact", "They have two cats."),  # over the cap of 2
    )
    sent = await chat.send(
        conversation, "I love green tea lattes, and I want to learn Thai and I have two cats."
    )
    job = await remember_job(chat, sent["message_id"])
    items = await chat.poll_memories(lambda items: len(items) == 2)
    assert {m["content"] for m in items} == {"They love green tea lattes.", "They want to learn Thai."}
    assert first["id"] not in {m["id"] for m in items}
    assert job.result is not None
    assert (job.result["facts"], job.result["replaced"]) == (2, [first["id"]])
    await chat.answered(conversation, 2)
    local_peer.reply = facts_json(("goal", "They want to learn Thai."))  # the very same again
    again = await chat.send(conversation, "As I said, I want to learn Thai.")
    repeated = await remember_job(chat, again["message_id"])
    assert repeated.result is not None
    assert (repeated.result["stored"], repeated.result["replaced"]) == (0, [])
    page = (await chat.client.get("/api/v1/assistant/memories", headers=headers)).json()
    assert page["total"] == 2


async def test_the_patterns_setting_never_asks_the_model(make_chat: MakeChat, local_peer: OpenAIPeer) -> None:
    settings: dict[str, Any] = {**hybrid(local_peer), "assistant_memory_extractor": "patterns"}
    chat = await make_chat(**settings)
    sent = await chat.send(await chat.conversation(), "I live in Chiang Mai.")
    [memory] = await chat.poll_memories(lambda items: len(items) == 1)
    assert memory["content"] == "They live in Chiang Mai."
    job = await remember_job(chat, sent["message_id"])
    assert job.result is not None
    assert job.result["extracted_by"] == "patterns"
    assert not [c for c in local_peer.chat_calls() if "Answer with JSON only" in str(c["body"])]


async def test_the_model_is_asked_for_facts_in_the_language_the_person_wrote(
    make_chat: MakeChat, local_peer: OpenAIPeer
) -> None:
    message = "ฉันชื่อมะลิ ฉันชอบเดินป่าค่ะ"
    local_peer.reply = facts_json(("name", "ชื่อมะลิ"), ("preference", "ชอบเดินป่า"))
    chat = await make_chat(**hybrid(local_peer))
    await chat.send(await chat.conversation(), message, language="th")
    memories = await chat.poll_memories(lambda items: len(items) == 2)
    assert {(m["category"], m["content"]) for m in memories} == {
        ("name", "ชื่อมะลิ"),
        ("preference", "ชอบเดินป่า"),
    }
    prompts = [c["body"]["messages"][-1]["content"] for c in local_peer.chat_calls()]
    [asked] = [p for p in prompts if "Answer with JSON only" in p]
    assert message in asked
    assert "in the language the message is written in" in asked
    assert "ชอบเดินป่า" in asked  # a Thai example of the shape wanted
