"""inbound payloads cleared: empty the provider records of inbound events already handed to the apps

Since this revision a channel's inbound event drops its ``payload`` (the provider's record: the
customer's words and number) in the transaction that hands it to the apps (``channels/tasks.py``);
the apps keep what they need, sealed where it is private. Rows handled before kept theirs; this
empties them too. Unhandled rows keep theirs: a retry still reads it. Nothing to undo.

Revision ID: 0024_inbound_payloads_cleared
Revises: 0023_attempt_usage
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_inbound_payloads_cleared"
down_revision = "0023_attempt_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE channel_inbound_events SET payload = '{}' "
            "WHERE processed_at IS NOT NULL AND payload <> '{}'"
        )
    )


def downgrade() -> None:
    """The records are gone; the schema did not change."""
