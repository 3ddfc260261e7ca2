"""What the operator console's routes answer."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, Field


class ConsoleJob(BaseModel):
    """A row of the job search: enough to find the job, not its content."""

    id: uuid.UUID
    kind: str
    status: str
    user_id: uuid.UUID | None
    email: str | None
    attempts: int
    max_attempts: int
    price_stars: int
    error_code: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class AttemptView(BaseModel):
    number: int
    worker_id: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    success: bool | None
    error_code: str | None
    error: str | None
    duration_ms: int | None
    usage: dict[str, Any] | None = None  # this attempt's model usage (the job's ``usage`` sums them)


class EventView(BaseModel):
    seq: int
    type: str
    data: dict[str, Any]
    created_at: dt.datetime


class ConsoleJobDetail(ConsoleJob):
    """One job for an operator: its payload's shape (free text redacted), attempts, events, usage."""

    payload: dict[str, Any] = Field(description="Field names and short values; free text is redacted.")
    result_keys: list[str]
    last_error: str | None
    usage: dict[str, Any] | None
    trace_id: str | None
    worker_id: str | None
    cancel_requested: bool
    attempts_list: list[AttemptView]
    events: list[EventView]
    actions: list[str] = Field(description="What an operator can do now: retry, cancel.")


class ActionResult(BaseModel):
    id: uuid.UUID
    status: str
    detail: str


class KindView(BaseModel):
    """A job kind this process runs, how many of its jobs are in each status, and whether it is paused."""

    kind: str
    price_stars: int
    paused: bool
    paused_at: dt.datetime | None
    by_status: dict[str, int]


class ThroughputBucket(BaseModel):
    start: dt.datetime
    submitted: int
    started: int
    succeeded: int
    failed: int
    queued_estimate: int = Field(
        description="Jobs waiting at the bucket's end (from submissions and starts)."
    )


class Throughput(BaseModel):
    minutes: int
    bucket_seconds: int
    buckets: list[ThroughputBucket]


class UserLookup(BaseModel):
    """An account found by email: who it is, its balances, its latest jobs."""

    id: uuid.UUID
    email: str | None
    name: str | None
    role: str
    tier: str
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    star_balance: int
    coin_balance: int
    stars_held: int
    jobs: list[ConsoleJob]
