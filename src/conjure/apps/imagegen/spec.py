"""What the imagegen app adds to the platform (placeholder until the imagegen issue lands)."""

from __future__ import annotations

from conjure.apps import AppSpec

APP = AppSpec(name="imagegen")
