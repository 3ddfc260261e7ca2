"""imagegen (placeholder: filled in by the imagegen issue)

Revision ID: 0007_imagegen
Revises: 0006_tarot
"""

from __future__ import annotations

revision = "0007_imagegen"
down_revision = "0006_tarot"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
