"""PaymentIntents an app creates for its own purposes (not star packages), routed to the app.

An app tags its intents with ``metadata.purpose`` and lists a handler for that purpose in its
:class:`conjure.kit.spec.AppSpec` (``stripe_purposes``); the Stripe webhook gives such events
to that handler, in the transaction that records the event id (so a duplicate does nothing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# (session, event type, the event's data.object) → "processed" | "ignored"
PurposeHandler = Callable[["AsyncSession", str, dict[str, Any]], Awaitable[str]]


def purpose_of(obj: Mapping[str, Any]) -> str | None:
    """The ``metadata.purpose`` of a PaymentIntent or charge, if any."""
    metadata = obj.get("metadata") or {}
    purpose = metadata.get("purpose") if isinstance(metadata, Mapping) else None
    return str(purpose) if purpose else None


class HasPurposes(Protocol):
    """An app spec, named by shape (``conjure.kit.spec`` imports this module)."""

    @property
    def stripe_purposes(self) -> Mapping[str, PurposeHandler]: ...


def purposes_of(apps: Iterable[HasPurposes]) -> dict[str, PurposeHandler]:
    """Every installed app's purpose handlers, by purpose."""
    found: dict[str, PurposeHandler] = {}
    for app in apps:
        found.update(app.stripe_purposes)
    return found
