"""Every Redis key the event stream uses, in one place."""

from __future__ import annotations

import uuid

USER_STREAM_PREFIX = "events:user:"


def user_stream(user_id: uuid.UUID) -> str:
    """A user's events: a Redis stream trimmed to the retention, expiring when the user is idle."""
    return f"{USER_STREAM_PREFIX}{user_id}"


def user_of(stream_key: str | bytes) -> uuid.UUID:
    """The user whose stream ``stream_key`` is."""
    text = stream_key.decode() if isinstance(stream_key, bytes) else stream_key
    return uuid.UUID(text.removeprefix(USER_STREAM_PREFIX))


def wake_stream(process_token: str) -> str:
    """One process's wake-up stream: written to interrupt its reader's XREAD when it follows a new user."""
    return f"events:wake:{process_token}"


def connections(user_id: uuid.UUID) -> str:
    """Sorted set of a user's open-stream leases (member: lease id, score: expiry in Redis time)."""
    return f"events:conns:{user_id}"
