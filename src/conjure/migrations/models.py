"""Every table's module, so Alembic sees the whole schema."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "conjure.users.models",
    "conjure.auth.models",
    "conjure.wallet.models",
    "conjure.jobs.models",
    "conjure.payments.models",
    "conjure.apps.tarot.models",
    "conjure.apps.imagegen.models",
    "conjure.apps.staging.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Modules of domains not built yet are skipped; errors inside a module are not.
            if exc.name is None or not name.startswith(exc.name):
                raise
