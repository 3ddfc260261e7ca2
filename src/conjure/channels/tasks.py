"""``channels.process``: one stored message, normalised and handed to every installed app, once.

The job reads the stored event, builds its :class:`~conjure.channels.types.InboundMessage`
(for a review notification it first reads the review from the Business Profile API: outside
any transaction, and a provider failure retries the job), then in one transaction marks the
event processed and calls each app's handler. A handler that raises rolls everything back and
the job is retried with backoff, then parked in the DLQ (re-drivable); an event already marked
processed (a duplicate delivery of the job) is not handed over again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog
from sqlalchemy import update

from conjure.channels.models import InboundEvent
from conjure.channels.outbound import fetch_review
from conjure.channels.types import InboundHandler, InboundMessage
from conjure.channels.wire import normalise, review_message
from conjure.db import Database, utcnow
from conjure.jobs.registry import JobContext, JobKind, PermanentJobError
from conjure.settings import Settings

log = structlog.get_logger("conjure.channels.tasks")
PROCESS_KIND = "channels.process"


async def _message_of(settings: Settings, event: InboundEvent) -> InboundMessage:
    message = normalise(event.channel, event.payload)
    if message is not None:
        return message
    review = await fetch_review(settings, str(event.payload["review_name"]))
    return review_message(event.payload, review)


async def process_event(
    db: Database,
    settings: Settings,
    event_id: uuid.UUID,
    handlers: Sequence[InboundHandler],
    *,
    session_info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Hand one stored event to ``handlers`` unless it was handed over before.

    ``session_info`` is put in the handlers' ``session.info`` (the runtime, under
    :data:`~conjure.channels.types.RUNTIME_SESSION_KEY`)."""
    async with db.session() as session:
        event = await session.get(InboundEvent, event_id)
    if event is None:
        raise PermanentJobError("event_missing", f"No inbound event {event_id}.")
    if event.processed_at is not None:
        return {"status": "already_processed"}
    message = await _message_of(settings, event)
    async with db.session() as session:
        # The guard and the handlers' writes commit together: a second run finds it set.
        claimed = await session.execute(
            update(InboundEvent)
            .where(InboundEvent.id == event_id, InboundEvent.processed_at.is_(None))
            # The provider's record (the customer's words, their number) is dropped once the apps
            # have it: they keep what they need, sealed where it is private (ops seals message
            # text); the row keeps the dedupe (channel, provider_message_id) and the times.
            .values(processed_at=utcnow(), payload={})
            .returning(InboundEvent.id)
        )
        if claimed.first() is None:
            return {"status": "already_processed"}
        session.info.update(session_info or {})
        for handler in handlers:
            await handler(session, message)
    log.info("channel_message_processed", channel=message.channel, kind=message.kind, handlers=len(handlers))
    return {
        "status": "processed",
        "channel": message.channel,
        "kind": message.kind,
        "handlers": len(handlers),
    }


def process_kind(
    handlers: Callable[[], Sequence[InboundHandler]], *, session_info: Mapping[str, Any] | None = None
) -> JobKind:
    """The job kind, calling whatever handlers ``handlers()`` lists when each job runs (the
    runtime's installed apps, which may be installed after the kind is registered)."""

    async def process(ctx: JobContext) -> dict[str, Any]:
        try:
            event_id = uuid.UUID(str(ctx.payload["event_id"]))
        except (KeyError, ValueError):
            raise PermanentJobError("bad_payload", "The job names no inbound event.") from None
        return await process_event(ctx.db, ctx.settings, event_id, handlers(), session_info=session_info)

    return JobKind(
        name=PROCESS_KIND,
        handler=process,
        description="Normalise one inbound channel message and hand it to every app's on_inbound_message.",
    )
