"""Run Alembic programmatically (``conjure migrate``, ``conjure up``, tests).

The platform's revisions are one chain in ``conjure/migrations/versions``; each app keeps
its own in ``conjure/apps/<name>/migrations/versions``, a branch labelled with the app's
name whose first revision ``depends_on`` the platform. Those folders are found on disk
(no app is imported); an app defined elsewhere passes its :class:`AppSpec` with
``migrations`` set. Upgrades go to ``heads``: the platform's and every app's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from conjure.kit.spec import AppSpec

HERE = Path(__file__).parent
PLATFORM_VERSIONS = HERE / "versions"
APPS_DIR = HERE.parent / "apps"


def version_locations(apps: Iterable[AppSpec] = ()) -> list[Path]:
    """The platform's versions folder, every shipped app's, then those of ``apps``."""
    found = [PLATFORM_VERSIONS, *sorted(APPS_DIR.glob("*/migrations/versions"))]
    for app in apps:
        if app.migrations is not None and app.migrations.resolve() not in {p.resolve() for p in found}:
            found.append(app.migrations)
    return found


def alembic_config(database_url: str, apps: Iterable[AppSpec] = ()) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in version_locations(apps)))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def upgrade(database_url: str, revision: str = "heads", *, apps: Iterable[AppSpec] = ()) -> None:
    command.upgrade(alembic_config(database_url, apps), revision)


def downgrade(database_url: str, revision: str = "base", *, apps: Iterable[AppSpec] = ()) -> None:
    command.downgrade(alembic_config(database_url, apps), revision)
