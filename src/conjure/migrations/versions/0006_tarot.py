"""tarot (placeholder: filled in by the tarot issue)

Revision ID: 0006_tarot
Revises: 0005_payments
"""

from __future__ import annotations

revision = "0006_tarot"
down_revision = "0005_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
