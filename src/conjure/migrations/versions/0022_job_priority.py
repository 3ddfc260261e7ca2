"""job priority: each job's fair-dispatch class and lane (payer when not its user) on its row

Stored so that every re-dispatch (reconciler, retry from the delayed set, DLQ re-drive, a Redis
that lost its data) puts the job back in its payer's lane with its class (conjure.jobs.lanes).

Revision ID: 0022_job_priority
Revises: 0021_console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_job_priority"
down_revision = "0021_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        # 1 is Priority.NORMAL: what every job dispatched before this revision was.
        batch.add_column(sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("lane", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lane")
        batch.drop_column("priority")
