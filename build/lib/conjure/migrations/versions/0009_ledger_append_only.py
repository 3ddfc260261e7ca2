"""wallet: the ledger is append-only in the database (triggers refuse UPDATE, DELETE and TRUNCATE)

Every balance change is one ``wallet_transactions`` row; a mistake is corrected with a
compensating row (docs/wallet.md), never by editing history. Until now that held by
convention only: the application's role could ``UPDATE wallet_transactions``. These
triggers refuse it on PostgreSQL and SQLite alike, for every role (only DDL by the table's
owner, i.e. a deliberate migration, can remove them; run the API under a role that does not
own the tables for the strongest guarantee).

One DELETE stays allowed: the rows of a user who no longer exists, which is what
``ON DELETE CASCADE`` does when an account is deleted (the user row is gone by the time the
cascade reaches the ledger). Any other DELETE (the user still exists) is refused.

``payments`` is not a ledger (a state row per purchase: status, refunded amount,
``credited_at``); its money movements are the ledger rows that name it.

Note for later migrations: on SQLite a batch migration that recreates ``wallet_transactions``
drops these triggers with the old table; re-create them with :func:`create_triggers`.

Revision ID: 0009_ledger_append_only
Revises: 0008_ledger_seq
"""

from __future__ import annotations

from alembic import op

revision = "0009_ledger_append_only"
down_revision = "0008_ledger_seq"
branch_labels = None
depends_on = None

TABLE = "wallet_transactions"
MESSAGE = "wallet_transactions is append-only: correct a mistake with a compensating row"

_PG_FUNCTION = f"""
CREATE FUNCTION {TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- An account being deleted takes its ledger with it (ON DELETE CASCADE): allowed.
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM users WHERE id = OLD.user_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP
        USING HINT = 'See docs/wallet.md, "Correcting a mistake".';
END
$$
"""

_PG_TRIGGERS = (
    f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only()",
    f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_append_only()",
)

# SQLite has no TRUNCATE (DELETE without WHERE fires the row triggers).
_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE} (UPDATE refused)'); END""",
    f"""CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE}
    WHEN EXISTS (SELECT 1 FROM users WHERE id = OLD.user_id)
    BEGIN SELECT RAISE(ABORT, '{MESSAGE} (DELETE refused)'); END""",
)


def create_triggers() -> None:
    """Install the append-only triggers for the connection's backend."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for statement in _PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
        op.execute(f"DROP FUNCTION IF EXISTS {TABLE}_append_only()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_delete")
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_update")


def upgrade() -> None:
    create_triggers()


def downgrade() -> None:
    drop_triggers()
