"""channels: channel_inbound_events, each messaging-provider message stored once before processing

Revision ID: 0019_channels
Revises: 0016_job_links
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import JSONType, UTCDateTime

revision = "0019_channels"
down_revision = "0016_job_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_inbound_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("provider_message_id", sa.String(255), nullable=False),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_channel_inbound_events"),
        # The dedupe: one row per provider message, whatever the number of deliveries.
        sa.UniqueConstraint("channel", "provider_message_id", name="uq_channel_inbound_events_message"),
    )


def downgrade() -> None:
    op.drop_table("channel_inbound_events")
