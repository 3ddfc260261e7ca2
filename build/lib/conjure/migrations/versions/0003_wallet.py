"""wallet: the ledger and invites

Revision ID: 0003_wallet
Revises: 0002_auth
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import JSONType, UTCDateTime

revision = "0003_wallet"
down_revision = "0002_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wallet_transactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("transaction_type", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("held_change", sa.BigInteger(), nullable=False),
        sa.Column("held_after", sa.BigInteger(), nullable=False),
        sa.Column("metadata", JSONType, nullable=True),
        sa.Column("related_payment_id", sa.Uuid(), nullable=True),
        sa.Column("related_job_id", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_wallet_transactions"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_wallet_transactions_user_id_users", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("user_id", "seq", name="uq_wallet_transactions_user_id"),
        sa.UniqueConstraint("idempotency_key", name="uq_wallet_transactions_idempotency_key"),
        sa.CheckConstraint("currency IN ('star', 'coin')", name="ck_wallet_transactions_currency"),
    )
    op.create_index(
        "ix_wallet_transactions_related_payment_id", "wallet_transactions", ["related_payment_id"]
    )
    op.create_index("ix_wallet_transactions_related_job_id", "wallet_transactions", ["related_job_id"])
    op.create_table(
        "user_invites",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("inviter_id", sa.Uuid(), nullable=False),
        sa.Column("invitee_id", sa.Uuid(), nullable=False),
        sa.Column("reward_paid", sa.Boolean(), nullable=False),
        sa.Column("coins_inviter", sa.Integer(), nullable=False),
        sa.Column("coins_invitee", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_user_invites"),
        sa.ForeignKeyConstraint(
            ["inviter_id"], ["users.id"], name="fk_user_invites_inviter_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invitee_id"], ["users.id"], name="fk_user_invites_invitee_id_users", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("invitee_id", name="uq_user_invites_invitee_id"),
    )
    op.create_index("ix_user_invites_inviter_id", "user_invites", ["inviter_id"])


def downgrade() -> None:
    op.drop_index("ix_user_invites_inviter_id", table_name="user_invites")
    op.drop_table("user_invites")
    op.drop_index("ix_wallet_transactions_related_job_id", table_name="wallet_transactions")
    op.drop_index("ix_wallet_transactions_related_payment_id", table_name="wallet_transactions")
    op.drop_table("wallet_transactions")
