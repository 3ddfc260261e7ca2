"""tarot: the app's first migration, the root of its own branch ``tarot``.

Revision ID: 0006_tarot
Depends on: 0005_payments (the platform revision it was written against)

Until platform revision 0008 this sat in the platform's chain; ``conjure.migrations.legacy``
records it as applied on databases migrated back then.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import JSONType, UTCDateTime

revision = "0006_tarot"
down_revision = None
branch_labels = ("tarot",)
depends_on = "0005_payments"


def upgrade() -> None:
    op.create_table(
        "tarot_readings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("question_length", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("card_count", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.String(64), nullable=False),
        sa.Column("cards", JSONType, nullable=False),
        sa.Column("reading", JSONType, nullable=False),
        sa.Column("question_analysis", JSONType, nullable=False),
        sa.Column("prompt_version", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("processing_time_ms", sa.Integer(), nullable=False),
        sa.Column("usage", JSONType, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tarot_readings"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_tarot_readings_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_tarot_readings_job_id_jobs", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("job_id", name="uq_tarot_readings_job_id"),
    )
    op.create_index("ix_tarot_readings_user_id_created_at", "tarot_readings", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_tarot_readings_user_id_created_at", table_name="tarot_readings")
    op.drop_table("tarot_readings")
