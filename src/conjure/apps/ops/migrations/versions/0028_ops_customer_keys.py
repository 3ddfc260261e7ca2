"""ops: ``ops_customer_keys``, one row of random key material per customer, from which (with the
PII key) the key of the AI audit's texts about that customer is derived; erasure deletes the row.

Created on first need (no backfill): audit rows from before keep the station's key.

Revision ID: 0028_ops_customer_keys
Revises: 0027_ops_lead_email_hash
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import UTCDateTime

revision = "0028_ops_customer_keys"
down_revision = "0027_ops_lead_email_hash"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ops_customer_keys",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("material", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["ops_customers.id"],
            name=op.f("fk_ops_customer_keys_customer_id_ops_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_ops_customer_keys")),
    )


def downgrade() -> None:
    op.drop_table("ops_customer_keys")
