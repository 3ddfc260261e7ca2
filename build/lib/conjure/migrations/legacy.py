"""Databases migrated before the apps had branches of their own (platform revision 0008 and older).

Until then one chain held everything: ... 0005_payments → 0006_tarot → 0007_imagegen →
0008_ledger_seq. Now 0006 and 0007 are the roots of the ``tarot`` and ``imagegen``
branches and 0008 follows 0005, so a database stamped with the old single head would
look as if the apps' revisions never ran. :func:`adopt_old_chain` rewrites its version
table into the heads the old chain implies, once, before Alembic reads it.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

OLD_CHAIN = (
    "0001_users",
    "0002_auth",
    "0003_wallet",
    "0004_jobs",
    "0005_payments",
    "0006_tarot",
    "0007_imagegen",
    "0008_ledger_seq",
)
# Revisions that moved to an app's branch, with the table each creates (present = it ran).
MOVED_TO_APPS = {"0006_tarot": "tarot_readings", "0007_imagegen": "generations"}


def adopt_old_chain(connection: Connection, known: Collection[str]) -> bool:
    """Record the moved revisions a single old-chain head implies; ``known``: revisions Alembic has."""
    inspector = inspect(connection)
    if not inspector.has_table("alembic_version"):
        return False
    current = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    if len(current) != 1 or current[0] not in OLD_CHAIN[OLD_CHAIN.index("0006_tarot") :]:
        return False
    applied = OLD_CHAIN[: OLD_CHAIN.index(current[0]) + 1]
    tables = set(inspector.get_table_names())
    heads = [[rev for rev in applied if rev not in MOVED_TO_APPS][-1]]
    moved = [rev for rev, table in MOVED_TO_APPS.items() if rev in applied and table in tables]
    heads += [rev for rev in moved if rev in known]
    if heads == current:
        return False
    connection.execute(text("DELETE FROM alembic_version"))
    for rev in heads:
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:rev)"), {"rev": rev})
    return True
