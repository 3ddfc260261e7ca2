"""Publishing to users' event streams: now, or once the caller's transaction commits.

Events are notifications, not records: the state they announce is in the database, and a
client that missed one (offline past the retention) reads that state. So publishing is
best effort: a hub that cannot be reached is logged, never fails the caller's work.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import structlog
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.db import after_commit
from conjure.errors import ConjureError
from conjure.events.schemas import JOB_CANCELED, JOB_FAILED, JOB_SUCCEEDED, JobOutcome
from conjure.events.types import EVENT_TYPE, EventId, NewEvent, UserEvent, UserEventHub

log = structlog.get_logger("conjure.events")

_JOB_EVENTS = {"succeeded": JOB_SUCCEEDED, "failed": JOB_FAILED, "dlq": JOB_FAILED, "canceled": JOB_CANCELED}


class TooManyStreams(ConjureError):
    """429: the user already holds ``SSE_MAX_CONNECTIONS_PER_USER`` open streams."""

    code, status = "too_many_streams", 429


class InvalidLastEventId(ConjureError):
    code, status = "invalid_last_event_id", 422


def parse_last_event_id(text: str | None) -> EventId | None:
    """The position a client resumes after; None (follow live only) when it sent none."""
    if text is None or not text.strip():
        return None
    event_id = EventId.parse(text)
    if event_id is None:
        raise InvalidLastEventId("Last-Event-ID must be an id this stream sent, such as 1700000000000-0.")
    return event_id


def _checked(events: Sequence[NewEvent]) -> Sequence[NewEvent]:
    for event in events:
        if not EVENT_TYPE.match(event.type):
            raise ValueError(f"event type {event.type!r} is not <domain>.<what_happened>")
    return events


async def publish_user_events(hub: UserEventHub, events: Sequence[NewEvent]) -> list[UserEvent]:
    """Send events to their users' open streams now (one round trip); [] when the hub is unreachable."""
    if not _checked(events):
        return []
    try:
        return await hub.publish_many(events)
    except (RedisError, OSError) as exc:
        log.warning("user_events_publish_failed", count=len(events), error=str(exc))
        return []


async def publish_user_event(
    hub: UserEventHub, user_id: uuid.UUID, type_: str, data: dict[str, Any]
) -> UserEvent | None:
    """Send one event to the user's open streams now (and keep it for replay)."""
    published = await publish_user_events(hub, [NewEvent(user_id, type_, data)])
    return published[0] if published else None


def publish_many_after_commit(session: AsyncSession, hub: UserEventHub, events: Sequence[NewEvent]) -> None:
    """Send events once ``session`` commits (nothing on rollback); the type is checked at once."""
    if not _checked(events):
        return
    batch = list(events)

    async def send() -> None:
        await publish_user_events(hub, batch)

    after_commit(session, send)


def publish_after_commit(
    session: AsyncSession, hub: UserEventHub, user_id: uuid.UUID, type_: str, data: dict[str, Any]
) -> None:
    """Send one event once ``session`` commits; dropped when it rolls back."""
    publish_many_after_commit(session, hub, [NewEvent(user_id, type_, data)])


def job_outcome_event(
    *, user_id: uuid.UUID | None, job_id: uuid.UUID, kind: str, status: str, code: str | None = None
) -> NewEvent | None:
    """The event a job's owner gets when it ends (``job.succeeded|failed|canceled``); None otherwise."""
    type_ = _JOB_EVENTS.get(str(status))
    if type_ is None or user_id is None:
        return None  # not terminal (queued, processing, retrying), or nobody to tell
    data = JobOutcome(job_id=str(job_id), kind=kind, status=str(status))
    if code and type_ != JOB_SUCCEEDED:
        data["code"] = code
    return NewEvent(user_id, type_, dict(data))
