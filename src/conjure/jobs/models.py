"""Job tables (seed 000 ``jobs`` and ``job_attempts``) plus ``job_events`` for progress replay.

PostgreSQL (or SQLite) is the record of every job; the broker only dispatches ids.
A worker owns a job through a conditional update of ``status``/``attempts``/``worker_id``
(the claim), and every later write is guarded by that same triple.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

import conjure.users.models  # noqa: F401  (registers ``users``, the target of jobs.user_id)
from conjure.db import Base, JSONType, UTCDateTime, new_id, utcnow


class JobStatus(enum.StrEnum):
    """``queued → processing → succeeded | failed | dlq | canceled``; a parked job is ``waiting``
    (on a provider's callback, holding no worker: ``conjure.jobs.parking``) between two runs."""

    QUEUED = "queued"
    PROCESSING = "processing"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DLQ = "dlq"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DLQ, JobStatus.CANCELED})


class Job(Base):
    """One unit of paid work and its whole lifecycle."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_jobs_user_id_idempotency_key"),
        # The reconciler and queue-position queries scan queued/processing jobs by time.
        Index("ix_jobs_status_run_at", "status", "run_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error_code: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    price_stars: Mapped[int] = mapped_column(BigInteger, default=0)
    prompt_version: Mapped[str | None] = mapped_column(String(64))
    schema_version: Mapped[str] = mapped_column(String(16), default="1")
    trace_id: Mapped[str | None] = mapped_column(String(64))
    # The submitting request's W3C traceparent, so the worker continues its trace (NULL: tracing off).
    trace_context: Mapped[str | None] = mapped_column(String(64))
    worker_id: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the job is next due: submit time, or now + backoff for a retry; the
    # reconciler re-dispatches queued jobs whose run_at is long past.
    run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # Last sequence number used in job_events (bumped in the same UPDATE as each change).
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Model usage summed over every attempt (a failed attempt's calls were paid for too).
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    start_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Parking (conjure.jobs.parking): what the handler saved, what its callback brought, when a
    # job still waiting fails, and the runs that spent no attempt (parks, circuit-open delays).
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    resume_data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    wait_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    parks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    free_delays: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Fair dispatch (conjure.jobs.lanes): the job's class (Priority: 0 batch, 1 normal, 2 high) and
    # who it is fair-queued as when not its user (an ops station, an API key); every re-dispatch
    # (reconciler, retry, DLQ re-drive) reads them here (conjure.jobs.redispatch).
    priority: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    lane: Mapped[str | None] = mapped_column(String(128))
    # A job started by another (e.g. a reading the assistant delegated): the parent sees it,
    # and canceling the parent cancels it while it is still queued.
    parent_job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True, default=None
    )


class JobAttempt(Base):
    """One run of a job by one worker (seed 000 ``job_attempts``)."""

    __tablename__ = "job_attempts"
    __table_args__ = (UniqueConstraint("job_id", "attempt_number", name="uq_job_attempts_job_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    attempt_number: Mapped[int] = mapped_column(Integer)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    success: Mapped[bool | None] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))
    processing_time_ms: Mapped[int | None] = mapped_column(Integer)
    # This attempt's model usage (tokens, cost, calls); the job's ``usage`` is the sum over attempts.
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class JobEvent(Base):
    """A status change or progress step, numbered per job; SSE ids are ``seq``."""

    __tablename__ = "job_events"
    __table_args__ = (UniqueConstraint("job_id", "seq", name="uq_job_events_job_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# Core table handles for hand-built statements (the job store, the scheduler, the services).
JOBS = cast(Table, Job.__table__)
EVENTS = cast(Table, JobEvent.__table__)
ATTEMPTS = cast(Table, JobAttempt.__table__)
JOB_COLUMNS = tuple(column.name for column in JOBS.c)


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """The columns of a job its owner sees (``JobView.from_job`` reads these names off a Job too)."""

    id: uuid.UUID
    user_id: uuid.UUID | None
    kind: str
    status: str
    progress: dict[str, Any] | None
    result: dict[str, Any] | None
    error_code: str | None
    last_error: str | None
    attempts: int
    max_attempts: int
    trace_id: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class PausedKind(Base):
    """A job kind an operator paused (the console): claims skip its jobs, which stay queued,
    neither failed nor charged; resuming deletes the row and the reconciler dispatches them."""

    __tablename__ = "paused_job_kinds"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    paused_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


PAUSED_KINDS = PausedKind.__table__
