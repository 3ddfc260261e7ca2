"""staging: projects, images, Replicate predictions and webhook ids; the root of the ``staging`` branch.

Revision ID: 0010_staging
Depends on: 0008_ledger_seq (the platform revision it was written against)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import JSONType, UTCDateTime

revision = "0010_staging"
down_revision = None
branch_labels = ("staging",)
depends_on = "0008_ledger_seq"


def upgrade() -> None:
    op.create_table(
        "staging_projects",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staging_projects"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_staging_projects_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_staging_projects_user_id_created_at", "staging_projects", ["user_id", "created_at"])
    op.create_table(
        "staging_images",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("room_type", sa.String(32), nullable=False),
        sa.Column("style", sa.String(32), nullable=False),
        sa.Column("quality", sa.String(16), nullable=False),
        sa.Column("original_key", sa.String(512), nullable=False),
        sa.Column("display_key", sa.String(512), nullable=True),
        sa.Column("staged_key", sa.String(512), nullable=True),
        sa.Column("thumbnail_key", sa.String(512), nullable=True),
        sa.Column("staged_thumbnail_key", sa.String(512), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(32), nullable=True),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ready_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staging_images"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_staging_images_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["staging_projects.id"],
            name="fk_staging_images_project_id_staging_projects",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("job_id", name="uq_staging_images_job_id"),
    )
    op.create_index("ix_staging_images_user_id", "staging_images", ["user_id"])
    op.create_index("ix_staging_images_original_key", "staging_images", ["original_key"])
    op.create_index("ix_staging_images_project_id_created_at", "staging_images", ["project_id", "created_at"])
    op.create_table(
        "staging_predictions",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("output", JSONType, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staging_predictions"),
    )
    op.create_index("ix_staging_predictions_job_id", "staging_predictions", ["job_id"])
    op.create_table(
        "staging_replicate_webhooks",
        sa.Column("webhook_id", sa.String(255), nullable=False),
        sa.Column("prediction_id", sa.String(128), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name="pk_staging_replicate_webhooks"),
    )


def downgrade() -> None:
    op.drop_table("staging_replicate_webhooks")
    op.drop_index("ix_staging_predictions_job_id", table_name="staging_predictions")
    op.drop_table("staging_predictions")
    op.drop_index("ix_staging_images_project_id_created_at", table_name="staging_images")
    op.drop_index("ix_staging_images_original_key", table_name="staging_images")
    op.drop_index("ix_staging_images_user_id", table_name="staging_images")
    op.drop_table("staging_images")
    op.drop_index("ix_staging_projects_user_id_created_at", table_name="staging_projects")
    op.drop_table("staging_projects")
