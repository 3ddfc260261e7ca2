"""jobs: parking (a job waiting on a provider callback holds no worker) and free delays

``waiting`` is a new job status (the column is a string, nothing to alter). ``checkpoint`` is
what a parked handler saved to continue from, ``resume_data`` what its callback brought (also
the mark of a callback that came before the park committed), ``wait_deadline`` when a job still
waiting fails with ``callback_timeout``; ``parks`` and ``free_delays`` count the runs that did
not spend an attempt (each capped by a setting), see ``conjure.jobs.parking``.

Revision ID: 0015_job_parking
Revises: 0013_accounts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import JSONType, UTCDateTime

revision = "0015_job_parking"
down_revision = "0013_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("checkpoint", JSONType, nullable=True))
        batch.add_column(sa.Column("resume_data", JSONType, nullable=True))
        batch.add_column(sa.Column("wait_deadline", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("parks", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("free_delays", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        for name in ("free_delays", "parks", "wait_deadline", "resume_data", "checkpoint"):
            batch.drop_column(name)
