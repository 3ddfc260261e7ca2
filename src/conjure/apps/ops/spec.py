"""What the ops app (seed 003, MyHibachi) adds to the platform."""

from __future__ import annotations

from conjure.apps.ops import models  # noqa: F401  (its tables, for Alembic)
from conjure.kit.spec import AppSpec

APP = AppSpec(name="ops")
