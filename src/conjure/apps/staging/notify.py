"""``image.ready`` / ``image.failed`` on the owner's event stream: the payload, and the one place it is sent.

The platform's per-user event stream (``GET /api/v1/events``) is being built beside this
app; until it lands, the two ``publish`` functions below only log the event. They are
the single seam to point at the platform's publisher: everything else in the app calls
them, and tests check the payload :func:`image_event` builds. The after-commit variant runs
inside the job's finishing transaction (``on_success``), which gets a session but no runtime:
wiring it to a publisher that needs a hub means giving that hook a way to reach it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.db import after_commit

if TYPE_CHECKING:
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.apps.staging.notify")
ImageEventType = Literal["image.ready", "image.failed"]


def image_event(
    *,
    image_id: uuid.UUID,
    project_id: uuid.UUID,
    job_id: uuid.UUID | None,
    status: str,
    urls: dict[str, str] | None = None,
    urls_expire_at: dt.datetime | None = None,
    error: dict[str, str] | None = None,
    ready_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The event's data: which image, its status, and its signed URLs (ready) or its error (failed)."""
    data: dict[str, Any] = {
        "image_id": str(image_id),
        "project_id": str(project_id),
        "job_id": str(job_id) if job_id else None,
        "status": status,
    }
    if urls is not None:
        data.update(urls)
        data["urls_expire_at"] = urls_expire_at.isoformat() if urls_expire_at else None
    if ready_at is not None:
        data["ready_at"] = ready_at.isoformat()
    if error is not None:
        data["error"] = error
    return data


async def publish_image_event(
    runtime: Runtime, user_id: uuid.UUID, type_: ImageEventType, data: dict[str, Any]
) -> None:
    """Send an image event to its owner's stream now (the caller has nothing left to commit)."""
    # Until the platform's publisher lands: a structured log line (no URLs: they are credentials).
    log.info(type_, user_id=str(user_id), image_id=data.get("image_id"), status=data.get("status"))


def publish_image_event_after_commit(
    session: AsyncSession, user_id: uuid.UUID, type_: ImageEventType, data: dict[str, Any]
) -> None:
    """Send an image event once ``session`` commits (dropped on rollback)."""

    async def send() -> None:
        log.info(type_, user_id=str(user_id), image_id=data.get("image_id"), status=data.get("status"))

    after_commit(session, send)
