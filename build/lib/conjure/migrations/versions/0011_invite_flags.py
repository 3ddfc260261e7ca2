"""wallet: user_invites.flag, why an invite was flagged for the admin (a burst or a cap reached)

A NULL flag is an ordinary invite. ``burst``, ``cap_per_day`` and ``cap_total`` mark the
invites of scripted-looking sign-up waves; ``GET /api/v1/admin/invites/flagged`` lists the
inviters who have any (conjure.wallet.invites).

Revision ID: 0011_invite_flags
Revises: 0009_ledger_append_only
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_invite_flags"
down_revision = "0009_ledger_append_only"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user_invites", sa.Column("flag", sa.String(length=16), nullable=True))
    # The admin list reads only flagged rows, per inviter.
    op.create_index("ix_user_invites_flagged", "user_invites", ["inviter_id", "flag"])


def downgrade() -> None:
    op.drop_index("ix_user_invites_flagged", table_name="user_invites")
    with op.batch_alter_table("user_invites") as batch:
        batch.drop_column("flag")
