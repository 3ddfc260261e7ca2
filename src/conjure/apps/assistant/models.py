"""The assistant's tables: conversations, their messages, and what it remembers about a person.

A user's message and the assistant's answer to it share a ``position`` in the conversation
(the answer's ``reply_to`` is the user's message; one answer per message, by a unique index),
so history reads in order however the answers were delivered.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pgvector.sqlalchemy import VECTOR
from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from conjure.db import Base, JSONType, UTCDateTime, new_id, utcnow

# The embedding width the memory table is built for (pgvector's column, sqlite-vec's table).
EMBEDDING_DIMENSIONS = 384
# pgvector's ``vector(384)`` on PostgreSQL; float32 bytes on SQLite (the sqlite-vec index is
# built from them). Written through the memory index (conjure.apps.assistant.memory_index) only.
EmbeddingType = LargeBinary().with_variant(VECTOR(EMBEDDING_DIMENSIONS), "postgresql")


class Role:
    USER = "user"
    ASSISTANT = "assistant"


class Conversation(Base):
    """One chat thread of one user."""

    __tablename__ = "assistant_conversations"
    __table_args__ = (Index("ix_assistant_conversations_user_id_updated_at", "user_id", "updated_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default="")
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(Base):
    """A user's message (with the job answering it) or the assistant's stored answer."""

    __tablename__ = "assistant_messages"
    __table_args__ = (
        Index("ix_assistant_messages_conversation_id_position", "conversation_id", "position"),
        Index("uq_assistant_messages_reply_to", "reply_to", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assistant_conversations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    reply_to: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # Answers: which model answered and why (``local``, ``fallback:saturated`` …), usage and price.
    model: Mapped[str | None] = mapped_column(String(128), default=None)
    route: Mapped[str | None] = mapped_column(String(64), default=None)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Memory(Base):
    """A durable fact about a person (a preference, a name, a goal) and its embedding, searched by
    the memory index (pgvector's HNSW on PostgreSQL, a sqlite-vec table on SQLite)."""

    __tablename__ = "assistant_memories"
    __table_args__ = (
        Index("ix_assistant_memories_user_id_created_at", "user_id", "created_at"),
        Index(
            "ix_assistant_memories_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32), default="fact")
    source_message_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    embedding: Mapped[object] = mapped_column(EmbeddingType, deferred=True, deferred_raiseload=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Meditation(Base):
    """A guided meditation asked for: its theme and length, then its stored audio."""

    __tablename__ = "assistant_meditations"
    __table_args__ = (Index("ix_assistant_meditations_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    theme: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int] = mapped_column(Integer)
    voice: Mapped[str | None] = mapped_column(String(64), default=None)
    audio_key: Mapped[str | None] = mapped_column(String(512), default=None)
    duration_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
