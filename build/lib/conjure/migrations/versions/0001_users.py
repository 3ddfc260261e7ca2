"""users

Revision ID: 0001_users
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import UTCDateTime

revision = "0001_users"
down_revision = None
branch_labels = ("platform",)  # the platform chain; each app has a branch of its own
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("picture_url", sa.String(1000), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("external_provider", sa.String(32), nullable=True),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("star_balance", sa.BigInteger(), nullable=False),
        sa.Column("coin_balance", sa.BigInteger(), nullable=False),
        sa.Column("stars_held", sa.BigInteger(), nullable=False),
        sa.Column("invite_code", sa.String(32), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("total_invites", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["users.id"], name="fk_users_invited_by_users", ondelete="SET NULL"
        ),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.UniqueConstraint("invite_code", name="uq_users_invite_code"),
        sa.UniqueConstraint("external_provider", "external_id", name="uq_users_external_provider"),
    )


def downgrade() -> None:
    op.drop_table("users")
