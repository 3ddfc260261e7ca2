"""console: paused_job_kinds, the job kinds an operator has paused (workers leave their jobs queued)

Revision ID: 0021_console
Revises: 0020_trace_context
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import UTCDateTime

revision = "0021_console"
down_revision = "0020_trace_context"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paused_job_kinds",
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("paused_by", sa.Uuid(), nullable=True),
        sa.Column("paused_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["paused_by"], ["users.id"], name=op.f("fk_paused_job_kinds_paused_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_paused_job_kinds")),
    )


def downgrade() -> None:
    op.drop_table("paused_job_kinds")
