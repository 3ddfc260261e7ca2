"""accounts: user_identities (linked sign-ins, one wallet) and users.deleted_at (account deletion)

Every existing way of signing in becomes an identity row: an email + password account gets
``("password", email)``, an account made by Telegram, Clerk, Auth0, Firebase or an
environment API key gets ``(external_provider, external_id)``. Sign-in then looks identities
up in this table only, so one user can hold several.

Revision ID: 0013_accounts
Revises: 0012_billing
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op

from conjure.db import UTCDateTime

revision = "0013_accounts"
down_revision = "0012_billing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("deleted_at", UTCDateTime(), nullable=True))
    identities = op.create_table(
        "user_identities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(320), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "subject", name="uq_user_identities_provider_subject"),
    )
    op.create_index("ix_user_identities_user_id", "user_identities", ["user_id"])
    users = sa.table(
        "users",
        sa.column("id", sa.Uuid()),
        sa.column("email", sa.String()),
        sa.column("password_hash", sa.String()),
        sa.column("external_provider", sa.String()),
        sa.column("external_id", sa.String()),
    )
    now = dt.datetime.now(dt.UTC)
    rows = []
    for user_id, email, password_hash, provider, external_id in op.get_bind().execute(sa.select(users)):
        if password_hash and email:
            rows.append({"id": uuid.uuid4(), "user_id": user_id, "provider": "password", "subject": email})
        if provider and external_id:
            rows.append(
                {"id": uuid.uuid4(), "user_id": user_id, "provider": provider, "subject": external_id}
            )
    if rows:
        op.bulk_insert(identities, [{**row, "created_at": now} for row in rows])


def downgrade() -> None:
    op.drop_index("ix_user_identities_user_id", table_name="user_identities")
    op.drop_table("user_identities")
    # Not a batch: recreating ``users`` on SQLite would trip the ledger's triggers, which name it
    # (SQLite 3.35+ drops a column in place).
    op.drop_column("users", "deleted_at")
