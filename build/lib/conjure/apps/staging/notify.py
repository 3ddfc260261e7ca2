"""``image.ready`` / ``image.failed`` on the owner's event stream (``GET /api/v1/events``).

``image.ready`` is returned by the kind's ``on_success`` hook (:func:`image_ready`), so the
engine publishes it with the job's ``job.succeeded`` once the finishing transaction (the
image row ``ready``, the capture) has committed, and never if it rolls back.
``image.failed`` is sent by the handler when a failure ends the job (:func:`publish_image_failed`):
nothing of the job's is written by then, and the image reads ``failed`` through its job.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from conjure.events.schemas import IMAGE_FAILED, IMAGE_READY
from conjure.events.service import publish_user_event
from conjure.events.types import NewEvent

if TYPE_CHECKING:
    from conjure.events.types import UserEventHub


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


def image_ready(user_id: uuid.UUID, data: dict[str, Any]) -> NewEvent:
    """The ``image.ready`` event an ``on_success`` hook returns (published once it commits)."""
    return NewEvent(user_id, IMAGE_READY, data)


async def publish_image_failed(hub: UserEventHub, user_id: uuid.UUID, data: dict[str, Any]) -> None:
    """Send ``image.failed`` to its owner's stream now (best effort: an unreachable hub is logged)."""
    await publish_user_event(hub, user_id, IMAGE_FAILED, data)
