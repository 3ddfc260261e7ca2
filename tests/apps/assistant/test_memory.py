"""Vector memory on pgvector (HNSW) and on the embedded sqlite-vec index: extraction, relevance,
recency, ownership, deletion, and the memories a person sees."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from conjure.apps.assistant.extraction import Fact
from conjure.apps.assistant.memory import list_memories, memory_tools, recall, remember
from conjure.apps.assistant.memory_index import NewMemory, PgVectorIndex, SqliteVecIndex
from conjure.db import new_id, utcnow
from tests.apps.assistant.conftest import Chat, MakeChat
from tests.apps.assistant.openai_peer import OpenAIPeer
from tests.apps.conftest import Api, MakeApi

FACTS = [
    "Their dog is Milo.",
    "They are allergic to peanuts.",
    "They want to run a marathon next year.",
    "They live in Chiang Mai.",
    "They love spicy noodles.",
]
QUESTIONS = {
    "What's my dog called again?": "Their dog is Milo.",
    "Can I eat peanut butter cookies?": "They are allergic to peanuts.",
    "Help me plan my marathon training": "They want to run a marathon next year.",
    "Any good cafes in Chiang Mai?": "They live in Chiang Mai.",
    "What noodles should I cook tonight?": "They love spicy noodles.",
}

# Thai facts as the offline extractor writes them, and Thai questions each should recall first.
THAI_FACTS = ["ชื่อมะลิ", "ชอบกาแฟดำ", "แพ้ถั่ว", "เป้าหมายคือวิ่งมาราธอน", "เป็นมังสวิรัติ", "แมวชื่อส้ม"]
THAI_QUESTIONS = {
    "ฉันชื่ออะไรนะ": "ชื่อมะลิ",
    "ฉันกินถั่วลิสงได้ไหม": "แพ้ถั่ว",
    "แนะนำร้านกาแฟหน่อย": "ชอบกาแฟดำ",
    "ช่วยวางแผนซ้อมวิ่งมาราธอนให้หน่อย": "เป้าหมายคือวิ่งมาราธอน",
    "เย็นนี้ทำอาหารมังสวิรัติอะไรดี": "เป็นมังสวิรัติ",
    "แมวของฉันชื่ออะไร": "แมวชื่อส้ม",
}


async def store(api: Api, user_id: uuid.UUID, content: str, *, days_old: float = 0.0) -> uuid.UUID:
    tools = memory_tools(api.runtime.settings)
    [vector] = await tools.embedder.embed([content])
    memory_id = new_id()
    created = utcnow() - dt.timedelta(days=days_old)
    async with api.runtime.db.session() as session:
        await tools.index.add(session, NewMemory(user_id, content, "fact", vector, None, created, memory_id))
    return memory_id


async def recalled(api: Api, user_id: uuid.UUID, question: str, limit: int = 3) -> list[str]:
    async with api.runtime.db.session() as session:
        found = await recall(session, api.runtime.settings, user_id, question, limit=limit)
    return [item.hit.content for item in found]


async def test_the_right_memory_ranks_first_and_only_the_owners(
    make_api: MakeApi, backend: dict[str, str]
) -> None:
    api = await make_api(**backend)
    index = memory_tools(api.runtime.settings).index
    assert isinstance(index, SqliteVecIndex if "sqlite" in backend["database_url"] else PgVectorIndex)
    user, _ = await api.user()
    other, _ = await api.user()
    for fact in FACTS:
        await store(api, user.id, fact)
    await store(api, other.id, "Their dog is Rex.")  # nearer to the dog question than anything else
    for question, expected in QUESTIONS.items():
        found = await recalled(api, user.id, question)
        assert found[0] == expected, (question, found)
        assert "Their dog is Rex." not in found
    assert await recalled(api, other.id, "What's my dog called again?") == ["Their dog is Rex."]


async def test_thai_questions_recall_thai_facts(make_api: MakeApi, backend: dict[str, str]) -> None:
    api = await make_api(**backend)
    user, _ = await api.user()
    for fact in [*THAI_FACTS, *FACTS]:
        await store(api, user.id, fact)
    for question, expected in THAI_QUESTIONS.items():
        found = await recalled(api, user.id, question)
        assert found[0] == expected, (question, found)


async def test_recency_breaks_ties_and_a_deletion_counts_at_once(
    make_api: MakeApi, backend: dict[str, str]
) -> None:
    api = await make_api(**backend)
    user, headers = await api.user()
    old = await store(api, user.id, "They love green tea.", days_old=90)
    new = await store(api, user.id, "They love green tea lattes.", days_old=0)
    assert await recalled(api, user.id, "green tea", limit=2) == [
        "They love green tea lattes.",
        "They love green tea.",
    ]
    deleted = await api.client.delete(f"/api/v1/assistant/memories/{new}", headers=headers)
    assert deleted.status_code == 204
    assert await recalled(api, user.id, "green tea", limit=2) == ["They love green tea."]
    _, stranger = await api.user()
    assert (await api.client.delete(f"/api/v1/assistant/memories/{old}", headers=stranger)).status_code == 404
    assert (await api.client.delete(f"/api/v1/assistant/memories/{new}", headers=headers)).status_code == 404


async def test_postgres_searches_through_the_hnsw_index(make_api: MakeApi, pg_url: str) -> None:
    api = await make_api(database_url=pg_url)
    user, _ = await api.user()
    for fact in FACTS:
        await store(api, user.id, fact)
    vector = "[" + ",".join(["0.05"] * 384) + "]"
    async with api.runtime.db.session() as session:
        assert await session.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = await session.execute(
            text(
                "EXPLAIN SELECT id FROM assistant_memories ORDER BY embedding <=> CAST(:v AS vector) LIMIT 5"
            ),
            {"v": vector},
        )
        lines = "\n".join(row[0] for row in plan)
    assert "ix_assistant_memories_embedding_hnsw" in lines


async def test_a_conversation_remembers_uses_and_forgets(chat: Chat) -> None:
    conversation = await chat.conversation()
    await chat.send(conversation, "My dog is called Milo and I love hiking.")
    memories = await chat.poll_memories(lambda items: len(items) == 2)
    assert {m["content"] for m in memories} == {"Their dog is Milo.", "They love hiking."}
    assert {m["category"] for m in memories} == {"person", "preference"}
    await chat.send(conversation, "What was my dog's name?")
    completed = (await chat.events("message.completed", count=2))[-1]
    assert "Their dog is Milo." in completed["text"]  # the offline responder shows what it recalled
    assert completed["memories_used"] >= 1
    dog = next(m for m in memories if "Milo" in m["content"])
    assert (
        await chat.client.delete(f"/api/v1/assistant/memories/{dog['id']}", headers=chat.headers)
    ).status_code == 204
    await chat.send(conversation, "What was my dog's name?")
    after = (await chat.events("message.completed", count=3))[-1]
    assert "Milo" not in after["text"]
    page = (await chat.client.get("/api/v1/assistant/memories", headers=chat.headers)).json()
    assert [m["content"] for m in page["items"]] == ["They love hiking."]
    _, stranger = await chat.api.user()
    assert (await chat.client.get("/api/v1/assistant/memories", headers=stranger)).json()["total"] == 0


async def test_a_thai_conversation_remembers_in_thai_and_recalls_it(chat: Chat) -> None:
    conversation = await chat.conversation()
    await chat.send(conversation, "สวัสดีค่ะ ฉันชื่อมะลิ ฉันแพ้ถั่วค่ะ ฉันไม่ชอบผักชี", language="th")
    memories = await chat.poll_memories(lambda items: len(items) == 3)
    assert {(m["category"], m["content"]) for m in memories} == {
        ("name", "ชื่อมะลิ"),
        ("health", "แพ้ถั่ว"),
        ("preference", "ไม่ชอบผักชี"),
    }
    await chat.send(conversation, "ฉันกินถั่วลิสงได้ไหม", language="th")
    completed = (await chat.events("message.completed", count=2))[-1]
    assert "สิ่งที่ฉันจำได้" in completed["text"]  # the offline reply, in Thai, shows what it recalled
    assert "แพ้ถั่ว" in completed["text"]


async def test_embeddings_come_from_an_openai_compatible_endpoint(
    make_chat: MakeChat, api_peer: OpenAIPeer
) -> None:
    chat = await make_chat(
        assistant_embeddings_base_url=api_peer.url, assistant_embeddings_model="text-embedding-3-small"
    )
    await chat.send(await chat.conversation(), "I live in Chiang Mai.")
    [memory] = await chat.poll_memories(lambda items: len(items) == 1)
    assert memory["content"] == "They live in Chiang Mai."
    calls = [c for c in api_peer.calls if c["path"].endswith("/embeddings")]
    assert calls
    assert (calls[0]["body"]["model"], calls[0]["body"]["dimensions"]) == ("text-embedding-3-small", 384)


@pytest.mark.parametrize("text_", ["What time is it?", "Tell the story of Siam."])
async def test_nothing_about_the_writer_stores_nothing(chat: Chat, text_: str) -> None:
    conversation = await chat.conversation()
    await chat.send(conversation, text_)
    await chat.answered(conversation, 1)
    assert (await chat.client.get("/api/v1/assistant/memories", headers=chat.headers)).json()["total"] == 0


async def test_a_lost_sqlite_vector_file_is_rebuilt_from_the_rows(make_api: MakeApi, sqlite_url: str) -> None:
    api = await make_api(database_url=sqlite_url)
    user, _ = await api.user()
    await store(api, user.id, "Their dog is Milo.")
    index = memory_tools(api.runtime.settings).index
    assert isinstance(index, SqliteVecIndex)
    Path(index.path).unlink()
    fresh = SqliteVecIndex(sqlite_url)
    async with api.runtime.db.session() as session:
        [vector] = await memory_tools(api.runtime.settings).embedder.embed(["dog"])
        hits = await fresh.search(session, user.id, vector, 3)
    assert [hit.content for hit in hits] == ["Their dog is Milo."]


async def test_a_memory_is_found_once_its_row_is(make_api: MakeApi, backend: dict[str, str]) -> None:
    """Stored in one transaction, a fact is found by that transaction's next one (a near copy
    replaces it) and by a search right after the commit; a rolled-back memory is never found."""
    api = await make_api(**backend)
    user, _ = await api.user()
    settings = api.runtime.settings
    tea, latte = Fact("They love green tea.", "preference"), Fact("They love green tea lattes.", "preference")
    async with api.runtime.db.session() as session:
        done = await remember(session, settings, user.id, [tea, latte], None)
    assert [m.content for m in done.stored] == [tea.content, latte.content]
    assert done.replaced == [done.stored[0].id]  # the first was found before the commit
    assert await recalled(api, user.id, "green tea") == [latte.content]

    async def stored_then_failed() -> None:
        async with api.runtime.db.session() as session:
            await remember(session, settings, user.id, [Fact("Their dog is Milo.", "fact")], None)
            raise RuntimeError("the job failed after storing")

    with pytest.raises(RuntimeError):
        await stored_then_failed()
    assert "Their dog is Milo." not in await recalled(api, user.id, "What's my dog called again?")
    async with api.runtime.db.session() as session:
        listed, total = await list_memories(session, user.id, limit=10, offset=0)
    assert ([m.content for m in listed], total) == ([latte.content], 1)
