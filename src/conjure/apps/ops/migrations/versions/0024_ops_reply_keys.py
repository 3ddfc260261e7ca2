"""ops: a reply's Idempotency-Key on its inbox message, unique per thread, so a reply sent again
after a dropped connection is the same reply and goes out once.

Revision ID: 0024_ops_reply_keys
Revises: 0018_ops
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_ops_reply_keys"
down_revision = "0018_ops"
branch_labels = None
depends_on = None

INDEX = "uq_inbox_messages_thread_id_idempotency_key"


def upgrade() -> None:
    op.add_column("inbox_messages", sa.Column("idempotency_key", sa.String(length=255), nullable=True))
    op.create_index(INDEX, "inbox_messages", ["thread_id", "idempotency_key"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="inbox_messages")
    with op.batch_alter_table("inbox_messages") as batch:
        batch.drop_column("idempotency_key")
