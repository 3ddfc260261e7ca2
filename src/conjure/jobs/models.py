"""Job tables (placeholder until the job engine lands)."""

from typing import Any

Job = Any
