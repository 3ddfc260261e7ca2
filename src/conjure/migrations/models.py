"""The platform's table modules, so Alembic sees its schema (an app's models come with its spec)."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "conjure.users.models",
    "conjure.auth.models",
    "conjure.wallet.models",
    "conjure.jobs.models",
    "conjure.payments.models",
    "conjure.channels.models",
    "conjure.billing.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Modules of domains not built yet are skipped; errors inside a module are not.
            if exc.name is None or not name.startswith(exc.name):
                raise
