"""wallet (placeholder: filled in by the wallet issue)

Revision ID: 0003_wallet
Revises: 0002_auth
"""

from __future__ import annotations

revision = "0003_wallet"
down_revision = "0002_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
