"""Start a process's traces and error tracking from its settings (each is off when unset)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from conjure.observability.errors import configure_errors
from conjure.observability.tracing import configure_tracing

if TYPE_CHECKING:
    from conjure.settings import Settings


def start_observability(settings: Settings, *, role: str) -> None:
    """``role``: ``api``, ``worker`` or ``up`` (both in one process); names the service and tags errors."""
    configure_tracing(settings, role=role)
    configure_errors(settings, role=role)
