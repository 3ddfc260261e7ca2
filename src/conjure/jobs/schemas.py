"""Public shapes of a job: what clients poll and what apps may embed in their own responses."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, Field

from conjure.jobs.models import Job, JobSnapshot, JobStatus


class JobErrorView(BaseModel):
    """Why a job did not succeed (stable ``code``, human ``message``)."""

    code: str
    message: str


def dead_letter_message(attempts: int) -> str:
    """What a DLQ job's owner is told: final, and free (its hold was released, never captured).

    The last attempt's own message ("…right now; retrying.") was written for a retry and is
    wrong once the engine has given up; operators still see it (``AdminJobView.last_error``).
    """
    tries = "once" if attempts == 1 else f"{attempts} times"
    return (
        f"The job failed {tries} and was stopped; it will not be retried automatically. Nothing was charged."
    )


def user_error(job: Job | JobSnapshot) -> JobErrorView | None:
    """Why a job did not succeed, as its owner is told; None unless it ended without success."""
    status = JobStatus(job.status)
    if not status.is_terminal or status == JobStatus.SUCCEEDED or not job.error_code:
        return None
    if status == JobStatus.DLQ:
        return JobErrorView(code=job.error_code, message=dead_letter_message(job.attempts))
    return JobErrorView(code=job.error_code, message=job.last_error or job.error_code)


class ChildJobView(BaseModel):
    """A job started by this one (``parent_job_id``), as its status shows."""

    id: uuid.UUID
    kind: str
    status: JobStatus


class JobView(BaseModel):
    """A job's state as its owner sees it."""

    id: uuid.UUID
    kind: str
    status: JobStatus
    progress: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: JobErrorView | None = None
    attempts: int
    max_attempts: int
    queue_position: int | None = None  # approximate, only while queued
    trace_id: str | None = None
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    children: list[ChildJobView] = Field(default_factory=list, description="Jobs this one started.")

    @classmethod
    def from_job(cls, job: Job | JobSnapshot, *, queue_position: int | None = None) -> JobView:
        """Build the view; ``error`` only once the job ended without success."""
        status = JobStatus(job.status)
        return cls(
            id=job.id,
            kind=job.kind,
            status=status,
            progress=job.progress,
            result=job.result if status == JobStatus.SUCCEEDED else None,
            error=user_error(job),
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            queue_position=queue_position if status == JobStatus.QUEUED else None,
            trace_id=job.trace_id,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class AdminJobView(BaseModel):
    """A job as operators see it (no payload: it may hold user content)."""

    id: uuid.UUID
    user_id: uuid.UUID | None
    kind: str
    status: JobStatus
    attempts: int
    max_attempts: int
    error_code: str | None
    last_error: str | None
    worker_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None

    @classmethod
    def from_job(cls, job: Job) -> AdminJobView:
        return cls(
            id=job.id,
            user_id=job.user_id,
            kind=job.kind,
            status=JobStatus(job.status),
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            error_code=job.error_code,
            last_error=job.last_error,
            worker_id=job.worker_id,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
        )


class QueueStatsView(BaseModel):
    """Queue depth and in-flight counts: the table's view and the broker's."""

    by_status: dict[str, int]
    broker: dict[str, int]


class AdminJobList(BaseModel):
    jobs: list[AdminJobView]
    stats: QueueStatsView


class RedriveResult(BaseModel):
    """How many DLQ jobs were queued again; those whose owner cannot cover a new hold stay."""

    redriven: int
    short_of_stars: list[uuid.UUID] = []
    free: bool = False  # the operator ran them without a hold


class PurgeResult(BaseModel):
    purged: int
