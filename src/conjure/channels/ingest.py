"""Store each received message once and queue its processing, in the webhook's own transaction.

The event row and its ``channels.process`` job commit together (the job is dispatched after
commit; the engine's reconciler re-dispatches one whose dispatch was lost), so a 200 means the
message is durable and will be processed: nothing the provider was told we have is lost.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

import structlog
from prometheus_client import Counter
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.channels.models import InboundEvent
from conjure.channels.tasks import PROCESS_KIND
from conjure.channels.wire import Received
from conjure.db import insert_ignore, utcnow
from conjure.jobs.service import submit_job

if TYPE_CHECKING:
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.channels.ingest")
CHANNEL_MESSAGES = Counter(
    "conjure_channel_messages_total", "Messages received on messaging channels", ["channel", "outcome"]
)


async def _insert_once(session: AsyncSession, item: Received) -> uuid.UUID | None:
    """INSERT … ON CONFLICT DO NOTHING; the new row's id, or None for a message stored before."""
    table = cast(Table, InboundEvent.__table__)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "channel": item.channel,
        "provider_message_id": item.provider_message_id,
        "payload": item.payload,
        "received_at": utcnow(),
    }
    return values["id"] if await insert_ignore(session, table, values) else None


async def store_received(session: AsyncSession, runtime: Runtime, received: list[Received]) -> dict[str, int]:
    """Store each message not seen before and queue one processing job per stored message."""
    counts = {"stored": 0, "duplicate": 0}
    for item in received:
        event_id = await _insert_once(session, item)
        outcome = "duplicate" if event_id is None else "stored"
        counts[outcome] += 1
        CHANNEL_MESSAGES.labels(item.channel, outcome).inc()
        if event_id is not None:
            await submit_job(
                session, runtime, user_id=None, kind=PROCESS_KIND, payload={"event_id": str(event_id)}
            )
        log.info(
            "channel_message", channel=item.channel, message_id=item.provider_message_id, outcome=outcome
        )
    return counts
