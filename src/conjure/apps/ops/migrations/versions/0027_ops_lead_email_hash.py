"""ops: ``leads.email_hash``, the keyed lookup hash of a lead's normalized email, and an index on
(station, email_hash), so that the public form's repeat check finds the same person's recent leads
in SQL and decrypts only those (their messages are sealed per row: no equality in SQL).

The hash is keyed with the PII key, which migrations do not have: leads stored before this
revision keep ``email_hash`` NULL; the repeat check also looks at those of the last hour (a short
window: after that hour none is left to look at).

Revision ID: 0027_ops_lead_email_hash
Revises: 0026_ops_message_text
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_ops_lead_email_hash"
down_revision = "0026_ops_message_text"
branch_labels = None
depends_on = None

INDEX = "ix_leads_station_id_email_hash"


def upgrade() -> None:
    # Not a batch: on SQLite that rebuilds the table, and the DROP of the old one would cascade.
    op.add_column("leads", sa.Column("email_hash", sa.String(length=64), nullable=True))
    op.create_index(INDEX, "leads", ["station_id", "email_hash"], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="leads")
    op.drop_column("leads", "email_hash")
