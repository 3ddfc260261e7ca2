"""HTTP route of the event stream: ``GET /api/v1/events`` (Server-Sent Events for the signed-in user)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Query
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse, ServerSentEvent

from conjure.auth.deps import CurrentPrincipal
from conjure.deps import RuntimeDep
from conjure.errors import TemporarilyUnavailable
from conjure.events.deps import UNAVAILABLE_RETRY_SECONDS, SseSlot
from conjure.events.service import parse_last_event_id
from conjure.events.types import EventId, UserEventHub

log = structlog.get_logger("conjure.events")
router = APIRouter(tags=["events"])
# How long one wait for the next event lasts; heartbeats go out on their own timer meanwhile.
FOLLOW_WAIT_SECONDS = 30.0
# A client that stops reading (its socket buffer full) is dropped after this, freeing its slot.
SEND_TIMEOUT_SECONDS = 60.0

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "The user's events, as they happen"},
    401: {"description": "No valid credential (unauthorized, invalid_token, token_expired)"},
    422: {"description": "Last-Event-ID is not an id of this stream (invalid_last_event_id)"},
    429: {"description": "Too many streams open for this user (too_many_streams), with Retry-After"},
    503: {"description": "Redis is unreachable (service_unavailable), with Retry-After"},
}


async def follow(
    hub: UserEventHub, user_id: uuid.UUID, after: EventId, *, announce: bool
) -> AsyncIterator[ServerSentEvent]:
    """Replay what the user missed after ``after``, then live events until the client leaves.

    ``announce``: first an id-only message naming ``after`` (where a stream opened without
    Last-Event-ID starts), so a client that drops before any event resumes from there too.
    """
    try:
        async with hub.subscribe(user_id, after) as subscription:
            if announce:
                yield ServerSentEvent(id=str(after))
            while True:
                event = await subscription.next(FOLLOW_WAIT_SECONDS)
                if event is not None:
                    yield ServerSentEvent(data=event.data, event=event.type, id=str(event.id))
    except (RedisError, OSError) as exc:
        # Redis went away: end the stream; the client reconnects with Last-Event-ID and misses nothing.
        log.warning("user_events_stream_ended", error=str(exc))


@router.get("/api/v1/events", responses=RESPONSES)
async def user_events(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    _slot: SseSlot,
    last_event_id: Annotated[str | None, Header(description="Resume after this event id")] = None,
    after: Annotated[
        str | None, Query(alias="last_event_id", description="Resume after this id (the header wins)")
    ] = None,
) -> EventSourceResponse:
    """Server-Sent Events for the signed-in user: typed app events, replay after Last-Event-ID, heartbeats.

    Without Last-Event-ID the stream starts at the user's newest event as of this request, and its
    first message is that id alone (no event, no data): send it back as Last-Event-ID to resume."""
    # The header first: a browser's EventSource reconnects to the same URL with a newer header.
    resumed = parse_last_event_id(last_event_id if last_event_id is not None else after)
    start = resumed
    if start is None:
        # "From now" is fixed here, before the response starts: a client that sends a request once
        # the stream's headers arrive gets every event it causes, however late the stream subscribes.
        try:
            start = await runtime.user_events.top(principal.user_id)
        except (RedisError, OSError) as exc:
            raise TemporarilyUnavailable(
                "Event streams are unavailable for a moment; try again shortly.",
                retry_after=UNAVAILABLE_RETRY_SECONDS,
            ) from exc
    return EventSourceResponse(
        follow(runtime.user_events, principal.user_id, start, announce=resumed is None),
        ping=runtime.settings.sse_heartbeat_seconds,
        send_timeout=SEND_TIMEOUT_SECONDS,
    )
