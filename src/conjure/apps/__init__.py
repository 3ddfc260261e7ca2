"""The apps built on the platform, listed explicitly (the platform never imports an app by itself).

:func:`installed_apps` is called only by the entry points (``conjure.cli``, ``conjure.app``);
everything below them receives the list. A new app adds its spec to this one list.
"""

from __future__ import annotations

from conjure.kit.spec import AppSpec

__all__ = ["AppSpec", "installed_apps"]


def installed_apps() -> list[AppSpec]:
    """Every app this build runs; the one place apps are wired in."""
    from conjure.apps.imagegen.spec import APP as IMAGEGEN
    from conjure.apps.tarot.spec import APP as TAROT

    return [TAROT, IMAGEGEN]
