"""Stripe's billing events on the existing webhook: recorded once, acknowledged at once, applied by a job.

``conjure.payments.webhooks`` verifies the signature and records the event id in
``processed_events`` in the request's transaction; for the event types below it then calls
:func:`enqueue_event`, which adds the job (:data:`conjure.billing.tasks.KIND`) to that same
transaction, so the id and the job commit together: a duplicate delivery finds the id and
does nothing, and a crash before the commit leaves neither (Stripe delivers again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from conjure.billing.tasks import KIND
from conjure.jobs.service import submit_job

if TYPE_CHECKING:
    from conjure.runtime import Runtime

BILLING_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.trial_will_end",
        "invoice.paid",
        "invoice.payment_failed",
    }
)


async def enqueue_event(session: AsyncSession, runtime: Runtime, event: dict[str, Any]) -> str:
    """Queue the job that applies this (already recorded) event; ``queued`` or ``ignored``."""
    obj = (event.get("data") or {}).get("object") or {}
    object_id = obj.get("id")
    if not isinstance(object_id, str) or not object_id:
        return "ignored"
    payload = {"event_id": str(event["id"]), "type": str(event["type"]), "object_id": object_id}
    await submit_job(session, runtime, user_id=None, kind=KIND, payload=payload)
    return "queued"
