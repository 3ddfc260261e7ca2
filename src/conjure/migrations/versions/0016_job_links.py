"""jobs: parent_job_id, a job started by another (an assistant's delegated reading, say)

A child's status is visible from its parent (``GET /api/v1/jobs/{id}`` lists ``children``);
canceling the parent cancels its children still queued (conjure.jobs.service.cancel_job).

Revision ID: 0016_job_links
Revises: 0015_job_parking
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_job_links"
down_revision = "0015_job_parking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("parent_job_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_jobs_parent_job_id_jobs", "jobs", ["parent_job_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index("ix_jobs_parent_job_id", "jobs", ["parent_job_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_parent_job_id", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_constraint("fk_jobs_parent_job_id_jobs", type_="foreignkey")
        batch.drop_column("parent_job_id")
