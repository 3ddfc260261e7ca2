"""The event types apps publish on the per-user stream, and the shape of the platform's own.

A type is ``<domain>.<what happened>`` (``conjure.events.types.EVENT_TYPE``); apps add their
own (``image.ready`` from staging, ``message.delta`` from the assistant) and list them here
so a client author finds every type in one place.
"""

from __future__ import annotations

from typing import Final, NotRequired, TypedDict

# staging: {"image_id", "project_id", "job_id", "status", "original_url", "original_thumbnail_url",
# "staged_url", "thumbnail_url", "urls_expire_at", "ready_at"}; failed: {..., "error": {"code", "message"}}
IMAGE_READY: Final = "image.ready"
IMAGE_FAILED: Final = "image.failed"
JOB_SUCCEEDED: Final = "job.succeeded"  # the engine: JobOutcome
JOB_FAILED: Final = "job.failed"  # the engine: JobOutcome (status "failed" or "dlq", with code)
JOB_CANCELED: Final = "job.canceled"  # the engine: JobOutcome
# assistant: {"conversation_id", "message_id", "job_id", "index", "delta"}
MESSAGE_DELTA: Final = "message.delta"
MESSAGE_COMPLETED: Final = "message.completed"  # assistant: {"conversation_id", "message_id"}


class JobOutcome(TypedDict):
    """Data of ``job.*`` events: enough to find the job (GET /api/v1/jobs/{job_id}), not its result."""

    job_id: str
    kind: str
    status: str
    code: NotRequired[str]  # the error code of a failed, dead-lettered or canceled job
