"""assistant: conversations, messages, memories (pgvector HNSW); the root of the ``assistant`` branch.

Revision ID: 0017_assistant
Depends on: 0011_invite_flags (the platform revision it was written against)

On PostgreSQL the memories' embeddings are a pgvector ``vector(384)`` column with an HNSW
cosine index (the extension is built by ``scripts/system-deps.sh``); on SQLite they are float32
bytes, and the sqlite-vec table that indexes them is made by the memory index on first use
(sqlite-vec loads into its own connection, not the migration's).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import VECTOR

from conjure.db import JSONType, UTCDateTime

revision = "0017_assistant"
down_revision = None
branch_labels = ("assistant",)
depends_on = "0011_invite_flags"

DIMENSIONS = 384  # conjure.apps.assistant.models.EMBEDDING_DIMENSIONS when this was written


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=f"fk_{table}_user_id_users", ondelete="CASCADE"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "assistant_conversations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assistant_conversations"),
        _user_fk("assistant_conversations"),
    )
    op.create_index(
        "ix_assistant_conversations_user_id_updated_at", "assistant_conversations", ["user_id", "updated_at"]
    )
    op.create_table(
        "assistant_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("reply_to", sa.Uuid(), nullable=True),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("route", sa.String(64), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("extra", JSONType, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assistant_messages"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["assistant_conversations.id"],
            name="fk_assistant_messages_conversation_id_assistant_conversations",
            ondelete="CASCADE",
        ),
        _user_fk("assistant_messages"),
    )
    op.create_index(
        "ix_assistant_messages_conversation_id_position",
        "assistant_messages",
        ["conversation_id", "position"],
    )
    op.create_index("uq_assistant_messages_reply_to", "assistant_messages", ["reply_to"], unique=True)
    op.create_table(
        "assistant_memories",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("source_message_id", sa.Uuid(), nullable=True),
        sa.Column(
            "embedding", sa.LargeBinary().with_variant(VECTOR(DIMENSIONS), "postgresql"), nullable=False
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assistant_memories"),
        _user_fk("assistant_memories"),
    )
    op.create_index(
        "ix_assistant_memories_user_id_created_at", "assistant_memories", ["user_id", "created_at"]
    )
    # HNSW (cosine) on PostgreSQL; SQLite gets a plain index of the same name (the model declares
    # one index for both; SQLite's searches go through the sqlite-vec table instead).
    op.create_index(
        "ix_assistant_memories_embedding_hnsw",
        "assistant_memories",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )

    op.create_table(
        "assistant_meditations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("theme", sa.String(200), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("voice", sa.String(64), nullable=True),
        sa.Column("audio_key", sa.String(512), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ready_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_assistant_meditations"),
        _user_fk("assistant_meditations"),
    )
    op.create_index(
        "ix_assistant_meditations_user_id_created_at", "assistant_meditations", ["user_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("assistant_meditations")
    op.drop_table("assistant_memories")
    op.drop_table("assistant_messages")
    op.drop_table("assistant_conversations")
