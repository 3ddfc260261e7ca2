"""wallet: users.ledger_seq, the position of the user's latest ledger row

Revision ID: 0008_ledger_seq
Revises: 0005_payments (it followed 0007_imagegen until the apps got branches of their own)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_ledger_seq"
down_revision = "0005_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("ledger_seq", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE users SET ledger_seq = COALESCE("
        "(SELECT MAX(seq) FROM wallet_transactions WHERE wallet_transactions.user_id = users.id), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("ledger_seq")
