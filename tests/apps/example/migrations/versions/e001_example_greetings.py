"""example: the greetings table, root of the ``example`` branch.

Revision ID: e001_example_greetings
Depends on: 0008_ledger_seq (the platform's head when it was written)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import UTCDateTime

revision = "e001_example_greetings"
down_revision = None
branch_labels = ("example",)
depends_on = "0008_ledger_seq"


def upgrade() -> None:
    op.create_table(
        "example_greetings",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("job_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("example_greetings")
