"""attempt usage: each attempt's model usage (tokens, cost) on its job_attempts row

The job's ``usage`` becomes the sum over its attempts (a failed or retried attempt's calls cost
money too); before this revision it held only the last attempt's, so older rows stay as they are.

Revision ID: 0023_attempt_usage
Revises: 0022_job_priority
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import JSONType

revision = "0023_attempt_usage"
down_revision = "0022_job_priority"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_attempts") as batch:
        batch.add_column(sa.Column("usage", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_attempts") as batch:
        batch.drop_column("usage")
