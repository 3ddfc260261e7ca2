"""ops: stations, members, customers, bookings, deposits, leads, reviews, inbox, AI usage and audit;
the root of the ``ops`` branch. ``ops_ai_audit`` is append-only (triggers refuse UPDATE and DELETE).

Revision ID: 0018_ops
Depends on: 0011_invite_flags (the platform revision it was written against)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conjure.db import JSONType, UTCDateTime

revision = "0018_ops"
down_revision = None
branch_labels = ("ops",)
depends_on = "0011_invite_flags"

AUDIT = "ops_ai_audit"
MESSAGE = "ops_ai_audit is append-only"
_PG = (
    f"""CREATE FUNCTION {AUDIT}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A station being deleted takes its audit rows with it (ON DELETE CASCADE): allowed.
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM ops_stations WHERE id = OLD.station_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP;
END
$$""",
    f"CREATE TRIGGER {AUDIT}_append_only BEFORE UPDATE OR DELETE ON {AUDIT} "
    f"FOR EACH ROW EXECUTE FUNCTION {AUDIT}_append_only()",
)
_SQLITE = (
    f"""CREATE TRIGGER {AUDIT}_no_update BEFORE UPDATE ON {AUDIT}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE} (UPDATE refused)'); END""",
    f"""CREATE TRIGGER {AUDIT}_no_delete BEFORE DELETE ON {AUDIT}
    WHEN EXISTS (SELECT 1 FROM ops_stations WHERE id = OLD.station_id)
    BEGIN SELECT RAISE(ABORT, '{MESSAGE} (DELETE refused)'); END""",
)


def upgrade() -> None:
    op.create_table(
        "ops_stations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("capacity_per_slot", sa.Integer(), nullable=False),
        sa.Column("deposit_amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("refund_full_days", sa.Integer(), nullable=False),
        sa.Column("refund_half_days", sa.Integer(), nullable=False),
        sa.Column("ai_auto_reply", sa.Boolean(), nullable=False),
        sa.Column("ai_level1_confidence", sa.Float(), nullable=False),
        sa.Column("ai_level2_confidence", sa.Float(), nullable=False),
        sa.Column("ai_monthly_budget_usd", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_stations")),
        sa.UniqueConstraint("slug", name=op.f("uq_ops_stations_slug")),
    )
    op.create_table(
        "ops_ai_audit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("input_ref", sa.String(length=128), nullable=False),
        sa.Column("output", JSONType, nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("refers_to", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_ops_ai_audit_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_ai_audit")),
    )
    with op.batch_alter_table("ops_ai_audit", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ops_ai_audit_station_id_created_at", ["station_id", "created_at"], unique=False
        )

    op.create_table(
        "ops_ai_usage",
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("alerted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_ops_ai_usage_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("station_id", "month", name=op.f("pk_ops_ai_usage")),
    )
    op.create_table(
        "ops_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_ops_alerts_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_alerts")),
    )
    with op.batch_alter_table("ops_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_alerts_station_id"), ["station_id"], unique=False)

    op.create_table(
        "ops_customers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("name_enc", sa.Text(), nullable=True),
        sa.Column("email_enc", sa.Text(), nullable=True),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("marketing_email", sa.Boolean(), nullable=False),
        sa.Column("marketing_sms", sa.Boolean(), nullable=False),
        sa.Column("erased_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_ops_customers_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_customers")),
    )
    with op.batch_alter_table("ops_customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ops_customers_station_id_email_hash", ["station_id", "email_hash"], unique=False
        )
        batch_op.create_index(
            "ix_ops_customers_station_id_phone_hash", ["station_id", "phone_hash"], unique=False
        )

    op.create_table(
        "ops_members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_ops_members_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ops_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_members")),
        sa.UniqueConstraint("station_id", "user_id", name=op.f("uq_ops_members_station_id")),
    )
    with op.batch_alter_table("ops_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "ops_slot_usage",
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("booking_time", sa.String(length=5), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_ops_slot_usage_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("station_id", "booking_date", "booking_time", name=op.f("pk_ops_slot_usage")),
    )
    op.create_table(
        "ops_station_channels",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_ops_station_channels_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel", "address", name=op.f("pk_ops_station_channels")),
    )
    with op.batch_alter_table("ops_station_channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_station_channels_station_id"), ["station_id"], unique=False)

    op.create_table(
        "reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("reviewer_name", sa.String(length=200), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reply_draft", sa.Text(), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("reply_status", sa.String(length=16), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_reviews_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("station_id", "platform", "external_id", name=op.f("uq_reviews_station_id")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index("ix_reviews_station_id_rating", ["station_id", "rating"], unique=False)

    op.create_table(
        "bookings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("booking_time", sa.String(length=5), nullable=False),
        sa.Column("guests", sa.Integer(), nullable=False),
        sa.Column("address_enc", sa.Text(), nullable=True),
        sa.Column("package", sa.String(length=64), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["ops_customers.id"],
            name=op.f("fk_bookings_customer_id_ops_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_bookings_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bookings_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            "ix_bookings_station_id_booking_date", ["station_id", "booking_date"], unique=False
        )

    op.create_table(
        "ops_threads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_user_id", sa.Uuid(), nullable=True),
        sa.Column("last_message_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_user_id"],
            ["users.id"],
            name=op.f("fk_ops_threads_assigned_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["ops_customers.id"],
            name=op.f("fk_ops_threads_customer_id_ops_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_ops_threads_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_threads")),
        sa.UniqueConstraint("station_id", "customer_id", name=op.f("uq_ops_threads_station_id")),
    )
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("provider_message_id", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("is_read", sa.Boolean(), nullable=False),
        sa.Column("intent", sa.String(length=32), nullable=True),
        sa.Column("sentiment", sa.String(length=16), nullable=True),
        sa.Column("sensitivity", sa.String(length=16), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("triage", sa.String(length=16), nullable=False),
        sa.Column("sent_by", sa.Uuid(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_inbox_messages_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["ops_threads.id"],
            name=op.f("fk_inbox_messages_thread_id_ops_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_messages")),
        sa.UniqueConstraint("channel", "provider_message_id", name=op.f("uq_inbox_messages_channel")),
    )
    with op.batch_alter_table("inbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_messages_station_id_is_read", ["station_id", "is_read"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_messages_thread_id"), ["thread_id"], unique=False)

    op.create_table(
        "leads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("name_enc", sa.Text(), nullable=True),
        sa.Column("email_enc", sa.Text(), nullable=True),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("reasons", JSONType, nullable=True),
        sa.Column("next_step", sa.String(length=500), nullable=True),
        sa.Column("qualified_at", UTCDateTime(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_leads_booking_id_bookings"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["ops_customers.id"],
            name=op.f("fk_leads_customer_id_ops_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_leads_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_station_id_status", ["station_id", "status"], unique=False)

    op.create_table(
        "ops_booking_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_ops_booking_events_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_ops_booking_events_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_booking_events")),
    )
    with op.batch_alter_table("ops_booking_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ops_booking_events_booking_id"), ["booking_id"], unique=False)

    op.create_table(
        "ops_payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("amount_refunded", sa.Integer(), nullable=False),
        sa.Column("refund_status", sa.String(length=24), nullable=True),
        sa.Column("stripe_refund_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_ops_payments_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_ops_payments_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_payments")),
        sa.UniqueConstraint(
            "stripe_payment_intent_id", name=op.f("uq_ops_payments_stripe_payment_intent_id")
        ),
    )
    with op.batch_alter_table("ops_payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ops_payments_booking_id_stripe_payment_intent_id",
            ["booking_id", "stripe_payment_intent_id"],
            unique=False,
        )

    op.create_table(
        "ops_drafts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("audit_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["inbox_messages.id"],
            name=op.f("fk_ops_drafts_message_id_inbox_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["ops_stations.id"],
            name=op.f("fk_ops_drafts_station_id_ops_stations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["ops_threads.id"],
            name=op.f("fk_ops_drafts_thread_id_ops_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_drafts")),
    )
    with op.batch_alter_table("ops_drafts", schema=None) as batch_op:
        batch_op.create_index("ix_ops_drafts_station_id_status", ["station_id", "status"], unique=False)
    statements = _PG if op.get_bind().dialect.name == "postgresql" else _SQLITE
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {AUDIT}_append_only ON {AUDIT}")
        op.execute(f"DROP FUNCTION IF EXISTS {AUDIT}_append_only()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {AUDIT}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {AUDIT}_no_delete")
    with op.batch_alter_table("ops_drafts", schema=None) as batch_op:
        batch_op.drop_index("ix_ops_drafts_station_id_status")

    op.drop_table("ops_drafts")
    with op.batch_alter_table("ops_payments", schema=None) as batch_op:
        batch_op.drop_index("ix_ops_payments_booking_id_stripe_payment_intent_id")

    op.drop_table("ops_payments")
    with op.batch_alter_table("ops_booking_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_booking_events_booking_id"))

    op.drop_table("ops_booking_events")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_station_id_status")

    op.drop_table("leads")
    with op.batch_alter_table("inbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_messages_thread_id"))
        batch_op.drop_index("ix_inbox_messages_station_id_is_read")

    op.drop_table("inbox_messages")
    op.drop_table("ops_threads")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_station_id_booking_date")
        batch_op.drop_index(batch_op.f("ix_bookings_customer_id"))

    op.drop_table("bookings")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_station_id_rating")

    op.drop_table("reviews")
    with op.batch_alter_table("ops_station_channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_station_channels_station_id"))

    op.drop_table("ops_station_channels")
    op.drop_table("ops_slot_usage")
    with op.batch_alter_table("ops_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_members_user_id"))

    op.drop_table("ops_members")
    with op.batch_alter_table("ops_customers", schema=None) as batch_op:
        batch_op.drop_index("ix_ops_customers_station_id_phone_hash")
        batch_op.drop_index("ix_ops_customers_station_id_email_hash")

    op.drop_table("ops_customers")
    with op.batch_alter_table("ops_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ops_alerts_station_id"))

    op.drop_table("ops_alerts")
    op.drop_table("ops_ai_usage")
    with op.batch_alter_table("ops_ai_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_ops_ai_audit_station_id_created_at")

    op.drop_table("ops_ai_audit")
    op.drop_table("ops_stations")
