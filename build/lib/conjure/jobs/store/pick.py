"""The one place that chooses a job store: by the database's dialect, once per :class:`Database`."""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from conjure.jobs.store.postgres import PostgresJobStore
from conjure.jobs.store.sqlite import SqliteJobStore

if TYPE_CHECKING:
    from conjure.db import Database
    from conjure.jobs.store.base import JobStore

_STORES: WeakKeyDictionary[Database, JobStore] = WeakKeyDictionary()


def store_for(db: Database) -> JobStore:
    """The job store of ``db``'s backend (made on first use, then kept with the database)."""
    store = _STORES.get(db)
    if store is None:
        dialect = db.engine.dialect.name
        store = SqliteJobStore(db) if dialect == "sqlite" else PostgresJobStore(db)
        _STORES[db] = store
    return store
