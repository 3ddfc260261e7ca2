"""What the assistant remembers about a person: extract facts after a message, recall the
relevant ones for the next, list and forget them.

Recall ranks by cosine similarity with a recency weight: ``score = similarity × (1 − w + w ×
0.5^(age / half-life))`` with ``w`` = :data:`RECENCY_WEIGHT` and the half-life
``ASSISTANT_MEMORY_HALF_LIFE_DAYS``, over the index's nearest :data:`CANDIDATES` × k memories;
memories less similar than :data:`MIN_SIMILARITY` are left out (not worth the model's attention).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.assistant import metrics
from conjure.apps.assistant.embeddings import Embedder, make_embedder
from conjure.apps.assistant.memory_index import Hit, MemoryIndex, NewMemory, make_index
from conjure.apps.assistant.models import Memory
from conjure.apps.assistant.settings import AssistantSettings
from conjure.db import new_id, utcnow
from conjure.errors import NotFound

if TYPE_CHECKING:
    from conjure.apps.assistant.extraction import Fact
    from conjure.settings import Settings

RECENCY_WEIGHT = 0.2
CANDIDATES = 4
MIN_SIMILARITY = 0.15


@dataclass(frozen=True)
class Recalled:
    hit: Hit
    similarity: float
    score: float


@dataclass
class MemoryTools:
    """The process's embedder and index (made once per runtime's settings)."""

    embedder: Embedder
    index: MemoryIndex


def memory_tools(settings: Settings) -> MemoryTools:
    app = settings.for_app(AssistantSettings)
    if app._memory is None:
        app._memory = MemoryTools(make_embedder(app), make_index(settings.resolved_database_url))
    tools: MemoryTools = app._memory
    return tools


def rank(hits: Sequence[Hit], *, limit: int, half_life_days: float) -> list[Recalled]:
    """The ``limit`` best hits by similarity with the recency weight."""
    now = utcnow()
    ranked = []
    for hit in hits:
        similarity = 1.0 - hit.distance
        if similarity < MIN_SIMILARITY:
            continue
        age_days = max((now - hit.created_at).total_seconds(), 0.0) / 86400
        recency = 0.5 ** (age_days / half_life_days) if half_life_days > 0 else 1.0
        ranked.append(Recalled(hit, similarity, similarity * (1 - RECENCY_WEIGHT + RECENCY_WEIGHT * recency)))
    return sorted(ranked, key=lambda r: r.score, reverse=True)[:limit]


async def recall(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID, text: str, *, limit: int | None = None
) -> list[Recalled]:
    """The user's memories most relevant to ``text`` (their own only, deleted ones never)."""
    app = settings.for_app(AssistantSettings)
    k = limit or app.assistant_memory_top_k
    tools = memory_tools(settings)
    started = time.perf_counter()
    [vector] = await tools.embedder.embed([text])
    hits = await tools.index.search(session, user_id, vector, k * CANDIDATES)
    metrics.MEMORY_RETRIEVAL.observe(time.perf_counter() - started)
    return rank(hits, limit=k, half_life_days=app.assistant_memory_half_life_days)


@dataclass
class Remembered:
    """What one message added to the memory: new memories, and those that replaced a remembered
    fact they nearly repeat (``replaced``: the ids they took the place of)."""

    stored: list[Memory]
    replaced: list[uuid.UUID]


async def remember(
    session: AsyncSession,
    settings: Settings,
    user_id: uuid.UUID,
    facts: Sequence[Fact],
    source: uuid.UUID | None,
) -> Remembered:
    """Store ``facts`` about the user. One at least ``ASSISTANT_MEMORY_UPDATE_SIMILARITY`` like a
    remembered one replaces it (the newer wording, and a fresh recency) instead of adding a near
    copy; the very same sentence again changes nothing."""
    done = Remembered([], [])
    if not facts:
        return done
    app = settings.for_app(AssistantSettings)
    tools = memory_tools(settings)
    vectors = await tools.embedder.embed([fact.content for fact in facts])
    for fact, vector in zip(facts, vectors, strict=True):
        near = await tools.index.search(session, user_id, vector, 1)
        if near and 1.0 - near[0].distance >= app.assistant_memory_update_similarity:
            if near[0].content.casefold() == fact.content.casefold():
                continue
            await tools.index.forget(session, user_id, near[0].id)
            done.replaced.append(near[0].id)
        memory = NewMemory(user_id, fact.content, fact.category, vector, source, utcnow(), new_id())
        await tools.index.add(session, memory)
        done.stored.append(
            Memory(
                id=memory.id,
                user_id=user_id,
                content=fact.content,
                category=fact.category,
                source_message_id=source,
                created_at=memory.created_at,
            )
        )
    return done


async def list_memories(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[Sequence[Memory], int]:
    """The user's memories, newest first."""
    total = await session.scalar(select(func.count()).where(Memory.user_id == user_id))
    rows = await session.scalars(
        select(Memory)
        .where(Memory.user_id == user_id)
        .order_by(Memory.created_at.desc(), Memory.id)
        .limit(limit)
        .offset(offset)
    )
    return rows.all(), int(total or 0)


async def forget(session: AsyncSession, settings: Settings, user_id: uuid.UUID, memory_id: uuid.UUID) -> None:
    """Delete one of the user's memories (never used again from this commit on); 404 if not theirs."""
    if not await memory_tools(settings).index.forget(session, user_id, memory_id):
        raise NotFound("No such memory.")
