"""ops: the customer name search's blind index: ``ops_customer_name_tokens`` (keyed tokens of the
pieces of each name), ``ops_customers.name_indexed``, and an index on the customers' (station, id)
that a search's ids are looked up by.

The tokens are keyed with the PII key, which migrations do not have: existing names are left
``name_indexed = false`` (erased customers, who have no name, are marked indexed) and the ops
app's periodic task ``ops.index_pending_names`` writes their tokens from the workers' scheduler;
until then a search decrypts those names as before.

Revision ID: 0025_ops_name_tokens
Revises: 0024_ops_reply_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_ops_name_tokens"
down_revision = "0024_ops_reply_keys"
branch_labels = None
depends_on = None

PENDING = "ix_ops_customers_name_indexed_station_id"
BY_ID = "ix_ops_customers_station_id_id"
TOKENS = "ops_customer_name_tokens"


def upgrade() -> None:
    with op.batch_alter_table("ops_customers") as batch:
        batch.add_column(sa.Column("name_indexed", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.create_index(PENDING, ["name_indexed", "station_id"], unique=False)
        batch.create_index(BY_ID, ["station_id", "id"], unique=False)
    op.execute(sa.text("UPDATE ops_customers SET name_indexed = true WHERE name_enc IS NULL"))
    op.create_table(
        TOKENS,
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["ops_customers.id"],
            name=op.f("fk_ops_customer_name_tokens_customer_id_ops_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_ops_customer_name_tokens_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "station_id", "token", "customer_id", name=op.f("pk_ops_customer_name_tokens")
        ),
    )
    op.create_index(op.f("ix_ops_customer_name_tokens_customer_id"), TOKENS, ["customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ops_customer_name_tokens_customer_id"), table_name=TOKENS)
    op.drop_table(TOKENS)
    with op.batch_alter_table("ops_customers") as batch:
        batch.drop_index(BY_ID)
        batch.drop_index(PENDING)
        batch.drop_column("name_indexed")
