"""A kind's hooks run in the transaction that ends its job: ``on_success`` (in the settle) and
``on_failure``, called from here by every path that ends a job without success (a settle, a
cancel, a start deadline, a callback that never came), so an app updates its own rows in one
place and its events are published only once that end has committed."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from conjure.events.types import EVENT_TYPE
from conjure.jobs.models import Job
from conjure.jobs.registry import JobEnd

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from conjure.events.types import NewEvent
    from conjure.jobs.registry import JobKind


def checked(kind: str, hook: str, events: list[NewEvent]) -> list[NewEvent]:
    """The events a hook returned; a malformed type is the app's bug, raised here (in the
    transaction, which then rolls back), not at the publish after it committed."""
    if bad := [e.type for e in events if not EVENT_TYPE.match(e.type)]:
        raise ValueError(f"{hook} of {kind} returned malformed event types {bad}")
    return events


async def failure_events(
    session: AsyncSession,
    kind: JobKind | None,
    job_id: uuid.UUID,
    *,
    status: str,
    code: str | None,
    message: str | None,
) -> list[NewEvent]:
    """Run the kind's ``on_failure`` for a job ending ``status`` in this transaction; its events."""
    if kind is None or kind.on_failure is None:
        return []
    job = await session.get(Job, job_id)
    if job is None:
        return []
    events = await kind.on_failure(session, job, JobEnd(str(status), code, message))
    return checked(kind.name, "on_failure", list(events or ()))
