"""staging: staging_uploads, the presigned uploads (never-staged ones are cleaned up)

Revision ID: staging_0002_uploads
Revises: 0010_staging
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import UTCDateTime

revision = "staging_0002_uploads"
down_revision = "0010_staging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staging_uploads",
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_staging_uploads"),
    )
    op.create_index("ix_staging_uploads_user_id", "staging_uploads", ["user_id"])
    op.create_index("ix_staging_uploads_created_at", "staging_uploads", ["created_at"])


def downgrade() -> None:
    op.drop_table("staging_uploads")
