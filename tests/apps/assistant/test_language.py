"""The person's language: what the page reads in (``language`` on a message) is what the
assistant's own sentences are written in (the offline reply, an offer and what a delegated job's
answer says), and what a model is told to answer in; only languages it speaks are accepted."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from conjure.apps.assistant.delegation import Offer, result_text
from conjure.apps.assistant.phrases import step_line
from conjure.jobs.models import Job
from tests.apps.assistant.conftest import Chat, MakeChat, hybrid
from tests.apps.assistant.openai_peer import OpenAIPeer

ASK_TH = "ช่วยดูดวงเรื่องงานใหม่ของฉันหน่อย"
LATIN = re.compile(r"[A-Za-z]")


async def test_a_thai_reader_gets_the_offline_reply_the_offer_and_the_reading_in_thai(chat: Chat) -> None:
    conversation = await chat.conversation()
    asked = await chat.send(conversation, ASK_TH, language="th")
    async with chat.api.runtime.db.session() as session:
        job = await session.get(Job, uuid.UUID(asked["job_id"]))
        assert job is not None
        assert job.payload["language"] == "th"  # kept with the answer's job
    [offered] = await chat.events("message.completed")
    text = offered["text"]
    assert text.startswith("ตอนนี้ฉันทำงานแบบออฟไลน์อยู่")
    assert text.endswith(f"ฉันช่วยดูไพ่ทาโรต์เรื่อง “{ASK_TH}” ให้ได้ค่ะ ราคา 1 ดาว ให้ทำเลยไหมคะ (ใช่ / ไม่)")
    assert not LATIN.search(text), text  # not a word of English
    await chat.send(conversation, "ใช่ ทำเลย", language="th")
    reading = (await chat.events("message.completed", count=2))[-1]
    assert reading["route"] == "tool:tarot"
    assert reading["text"].startswith("เริ่มดูไพ่ทาโรต์ให้แล้วค่ะ (1 ดาว จะตัดดาวเมื่อสำเร็จเท่านั้น)")
    assert "ไพ่ของคุณ: " in reading["text"]
    assert not LATIN.search(reading["text"].split("ไพ่ของคุณ: ", 1)[0])  # its steps too
    cards = reading["text"].split("ไพ่ของคุณ: ", 1)[1].split("\n", 1)[0]
    assert not LATIN.search(cards), cards  # the cards' Thai names


async def test_english_by_default_and_only_languages_it_speaks(chat: Chat) -> None:
    conversation = await chat.conversation()
    await chat.send(conversation, "Could you do a tarot reading about my new job?")
    [offered] = await chat.events("message.completed")
    assert offered["text"].startswith("I'm running offline")
    assert offered["text"].endswith("for 1 star. Shall I go ahead? (yes / no)")
    # A browser's tag names the same language ("th-TH"): Thai.
    regional = await chat.send(conversation, "No thanks, hello", language="th-TH")
    async with chat.api.runtime.db.session() as session:
        payload = await session.scalar(select(Job.payload).where(Job.id == uuid.UUID(regional["job_id"])))
    assert payload is not None
    assert payload["language"] == "th"
    for refused in ("fr", "", "xx-th", 7):
        response = await chat.client.post(
            f"/api/v1/assistant/conversations/{conversation}/messages",
            json={"content": "Hello", "language": refused},
            headers=chat.headers,
        )
        assert response.status_code == 422, (refused, response.text)
        assert response.json()["code"] == "validation_error"
        assert "language" in response.text


async def test_a_model_is_told_to_answer_in_thai(make_chat: MakeChat, local_peer: OpenAIPeer) -> None:
    chat = await make_chat(**hybrid(local_peer), assistant_memory_extractor="patterns")
    conversation = await chat.conversation()
    await chat.send(conversation, "สวัสดีค่ะ", language="th")
    await chat.send(conversation, "Hello", language="en")
    await chat.events("message.completed", count=2)
    systems = [call["body"]["messages"][0]["content"] for call in local_peer.chat_calls()]
    assert len(systems) == 2
    assert "answer in Thai" in systems[0]
    assert "Thai" not in systems[1]
    assert "Answer in the language the person writes in." in systems[1]


def test_a_delegated_jobs_steps_and_ends_read_in_thai_without_english() -> None:
    tarot = Offer("tarot", "tarot.reading", 1, {"question": "งานใหม่จะดีไหม"})
    staging = Offer("staging", "staging.stage", 2, {"room_type": "bedroom", "style": "scandinavian"})
    assert result_text(tarot, "dlq", None, None, "th") == "ดูไพ่ไม่สำเร็จ (ลองหลายครั้งแล้ว) ไม่มีการตัดดาวค่ะ"
    assert result_text(tarot, "failed", None, None, "th") == "ดูไพ่ไม่สำเร็จ ไม่มีการตัดดาวค่ะ"
    assert (
        result_text(tarot, "failed", None, None)
        == "The reading did not work out (failed); nothing was charged."
    )
    assert staging.question("th") == (
        "ฉันช่วยแต่งห้องนอนในรูปของคุณเป็นสไตล์สแกนดิเนเวียนให้ได้ค่ะ ราคา 2 ดาว ให้ทำเลยไหมคะ (ใช่ / ไม่)"
    )
    assert staging.question() == (
        "I can stage the bedroom in your photo in the Scandinavian style for 2 stars."
        " Shall I go ahead? (yes / no)"
    )
    assert step_line("th", "drawing", "Drawing 3 cards") == "กำลังจั่วไพ่"
    assert step_line("th", "something_new", "Something new") is None  # never English on a Thai page
    assert step_line("en", "drawing", "Drawing 3 cards") == "Drawing 3 cards"
    assert step_line("en", "storing", "storing") == "Storing"
