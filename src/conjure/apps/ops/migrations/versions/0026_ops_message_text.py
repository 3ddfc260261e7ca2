"""ops: message text sealed at rest: ``inbox_messages.text_enc``, ``ops_drafts.text_enc``,
``leads.message_enc``, ``reviews.reply_draft_enc`` and ``bookings.notes_enc``
(AES-GCM, :mod:`conjure.apps.ops.texts`), and a partial index per table of the rows not sealed yet.

Sealing needs the PII key, which migrations do not have: the texts stored so far stay in their
plain columns, where they keep reading, until the ops app's periodic task
``ops.seal_pending_texts`` seals them and empties the plain column. The plain columns stay
NOT NULL (``""`` once sealed): making them nullable would rebuild the tables on SQLite.
``reviews.reply_draft`` and ``bookings.notes`` were nullable already: NULL once sealed.

Revision ID: 0026_ops_message_text
Revises: 0025_ops_name_tokens
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_ops_message_text"
down_revision = "0025_ops_name_tokens"
branch_labels = None
depends_on = None

# (table, sealed column, the rows still to seal)
SEALED = (
    ("inbox_messages", "text_enc", "text_enc IS NULL"),
    ("ops_drafts", "text_enc", "text_enc IS NULL"),
    ("leads", "message_enc", "message_enc IS NULL"),
    ("reviews", "reply_draft_enc", "reply_draft IS NOT NULL"),
    ("bookings", "notes_enc", "notes IS NOT NULL"),
)


def upgrade() -> None:
    for table, sealed, pending in SEALED:
        op.add_column(table, sa.Column(sealed, sa.Text(), nullable=True))
        where = sa.text(pending)
        op.create_index(
            f"ix_{table}_unsealed", table, ["id"], unique=False, postgresql_where=where, sqlite_where=where
        )


def downgrade() -> None:
    # Sealed texts cannot be opened here (no key): every row written since 0026 is sealed, and so
    # is every older one the backfill reached, so a downgrade would lose them: refused while any is.
    bind = op.get_bind()
    for table, sealed, _ in SEALED:
        if bind.execute(sa.text(f"SELECT 1 FROM {table} WHERE {sealed} IS NOT NULL LIMIT 1")).first():
            raise RuntimeError(
                f"{table} holds sealed text ({table}.{sealed}) and a migration has no key to open "
                "it: downgrading past 0026_ops_message_text would lose it."
            )
    for table, sealed, _ in SEALED:
        op.drop_index(f"ix_{table}_unsealed", table_name=table)
        # Not a batch: on SQLite that rebuilds the table, and the DROP of the old one would cascade.
        op.drop_column(table, sealed)
