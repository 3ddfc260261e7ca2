"""auth (placeholder: filled in by the auth issue)

Revision ID: 0002_auth
Revises: 0001_users
"""

from __future__ import annotations

revision = "0002_auth"
down_revision = "0001_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
