"""imagegen: the app's first migration, the root of its own branch ``imagegen``.

Revision ID: 0007_imagegen
Depends on: 0005_payments (the platform revision it was written against)

Until platform revision 0008 this sat in the platform's chain; ``conjure.migrations.legacy``
records it as applied on databases migrated back then.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import UTCDateTime

revision = "0007_imagegen"
down_revision = None
branch_labels = ("imagegen",)
depends_on = "0005_payments"


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("object_key", sa.String(512), nullable=False),
        sa.Column("size", sa.String(16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("generate_ms", sa.Integer(), nullable=False),
        sa.Column("download_ms", sa.Integer(), nullable=False),
        sa.Column("store_ms", sa.Integer(), nullable=False),
        sa.Column("total_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_generations"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_generations_user_id_users", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("job_id", name="uq_generations_job_id"),
    )
    op.create_index("ix_generations_user_id_created_at", "generations", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_generations_user_id_created_at", table_name="generations")
    op.drop_table("generations")
