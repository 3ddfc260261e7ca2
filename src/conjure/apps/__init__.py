"""The apps built on the platform, listed explicitly (the platform never imports an app by itself).

:func:`installed_apps` is called only by the entry points (``conjure.cli``, ``conjure.app``);
everything below them receives the list. A new app adds its spec module to :data:`INSTALLED`.
The list names modules rather than importing them here: this package is the parent of
every app, so an import from it to an app would close a cycle (app → package → app).
"""

from __future__ import annotations

import importlib

from conjure.kit.spec import AppSpec

__all__ = ["INSTALLED", "AppSpec", "installed_apps"]

# Each module defines ``APP``, its AppSpec; order is the order routes are mounted in.
INSTALLED = (
    "conjure.apps.tarot.spec",
    "conjure.apps.imagegen.spec",
    "conjure.apps.staging.spec",
    "conjure.apps.ops.spec",
    "conjure.apps.assistant.spec",
)


def installed_apps() -> list[AppSpec]:
    """Every app this build runs; the one place apps are wired in."""
    apps = []
    for name in INSTALLED:
        app = importlib.import_module(name).APP
        if not isinstance(app, AppSpec):
            raise TypeError(f"{name}.APP is not an AppSpec")
        apps.append(app)
    return apps
