"""jobs: trace_context, the W3C ``traceparent`` of the request that submitted the job

A worker continues that trace (conjure.observability.tracing), so one reading is one trace
from the API request to the settle. NULL when tracing is off.

Revision ID: 0020_trace_context
Revises: 0019_channels
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_trace_context"
down_revision = "0019_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("trace_context", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("trace_context")
