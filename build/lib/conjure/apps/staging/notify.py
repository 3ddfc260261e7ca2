"""``image.ready`` / ``image.failed`` on the owner's event stream (``GET /api/v1/events``).

``image.ready`` is returned by the kind's ``on_success`` hook (:func:`image_ready`), so the
engine publishes it with the job's ``job.succeeded`` once the finishing transaction (the
image row ``ready``, the capture) has committed, and never if it rolls back.
``image.failed`` is returned by the kind's ``on_failure`` hook (:func:`image_failed`), run by the
engine in whichever transaction ends the job without success, and published once that commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from conjure.events.schemas import IMAGE_FAILED, IMAGE_READY
from conjure.events.types import NewEvent


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


def image_failed(user_id: uuid.UUID, data: dict[str, Any]) -> NewEvent:
    """The ``image.failed`` event an ``on_failure`` hook returns (published once it commits)."""
    return NewEvent(user_id, IMAGE_FAILED, data)
