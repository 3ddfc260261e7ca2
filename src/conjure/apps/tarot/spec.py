"""What the tarot app adds to the platform (placeholder until the tarot issue lands)."""

from __future__ import annotations

from conjure.apps import AppSpec

APP = AppSpec(name="tarot")
