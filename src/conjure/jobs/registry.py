"""The contract between the engine and the apps: job kinds, handler context, handler errors.

An app describes each kind of work it does with a :class:`JobKind` and lists it in
its :class:`conjure.apps.AppSpec`; the engine knows nothing else about the app.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from conjure.db import Database
    from conjure.events.types import NewEvent, UserEventHub
    from conjure.jobs.models import Job
    from conjure.ratelimit.service import RateLimiter
    from conjure.settings import Settings
    from conjure.storage.service import ObjectStore


class JobError(Exception):
    """A handler's failure with a stable code; the engine decides retry or not by subclass."""

    retryable = False

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RetryableJobError(JobError):
    """Transient trouble (timeout, 429, 5xx): retried with backoff, then DLQ.

    ``retry_after``: the seconds the provider asked us to wait (its ``Retry-After``); the retry
    then waits at least that long instead of the shorter backoff (``conjure.jobs.retry``).
    """

    retryable = True

    def __init__(self, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class JobDeferred(RetryableJobError):
    """Not tried at all: what the job needs is known to be unavailable for ``retry_after`` seconds
    (a provider whose circuit breaker is open). The job waits that long without spending an
    attempt, at most ``JOB_MAX_FREE_DELAYS`` times; after that it is an ordinary retryable failure.
    Nothing is charged either way (the hold stays until the job ends)."""

    def __init__(self, code: str, message: str, *, retry_after: float) -> None:
        super().__init__(code, message, retry_after=retry_after)


class PermanentJobError(JobError):
    """Bad input or a policy refusal: the job fails at once, the hold is released."""


@dataclass(frozen=True)
class Park:
    """Where a parked job continues: the handler's ``checkpoint``, run again at ``poll_at`` (the
    poll fallback) unless a callback resumes it sooner; still waiting at ``deadline``, it fails
    with ``callback_timeout``."""

    poll_at: dt.datetime
    deadline: dt.datetime
    checkpoint: dict[str, Any]


class JobParked(Exception):
    """Raised by ``ctx.park``: this run ends, the job waits (holding no worker) for a callback."""

    def __init__(self, park: Park) -> None:
        super().__init__("parked")
        self.park = park


@dataclass(frozen=True)
class SavedState:
    """What a parked job's next run starts from: the checkpoint it saved, and what the callback
    that resumed it brought (None: woken by the poll fallback, or never parked)."""

    checkpoint: dict[str, Any] | None
    resume_data: dict[str, Any] | None


class JobCanceled(Exception):
    """Raised inside a handler when the job was canceled between steps."""


class JobContext(Protocol):
    """What a handler may use while it runs one attempt of a job: its job, and the process's
    settings, object storage, rate limiter, database and users' event stream (not the whole
    runtime: a handler cannot reach the broker, the wallet's or the job's own rows through it).

    ``db`` is for the app's own rows, each read or write in a short transaction of its own
    (``async with ctx.db.session() as session``); the job's outcome is written by the engine.
    ``user_events`` publishes to users' streams (``conjure.events.service.publish_user_event``).
    ``max_attempts`` is how many attempts the job has in all (``attempt == max_attempts``: the last).
    """

    job_id: uuid.UUID
    user_id: uuid.UUID | None
    attempt: int
    max_attempts: int
    payload: Mapping[str, Any]
    settings: Settings
    storage: ObjectStore
    limiter: RateLimiter
    db: Database
    user_events: UserEventHub

    async def progress(
        self, step: str, *, message: str | None = None, data: Mapping[str, Any] | None = None
    ) -> None:
        """Report a step (e.g. ``analyzing``) to the job's progress stream; raises JobCanceled if canceled."""

    def record_usage(
        self,
        *,
        provider: str,
        step: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost_usd: float = 0.0,
        model: str | None = None,
    ) -> None:
        """Add model usage to the job (tokens and cost per step)."""

    async def park(
        self, *, poll_after: float, deadline: dt.datetime, checkpoint: Mapping[str, Any]
    ) -> NoReturn:
        """End this run and wait for a callback without holding a worker (``conjure.jobs.parking``):
        the job is run again from ``checkpoint`` when a callback resumes it, or after
        ``poll_after`` seconds; it fails with ``callback_timeout`` if still waiting at ``deadline``."""

    async def saved_state(self) -> SavedState:
        """The checkpoint of this job's last park and what its callback brought (read once)."""


Handler = Callable[[JobContext], Awaitable[dict[str, Any]]]
# Runs in the job's finishing transaction; the events it returns (e.g. ``image.ready``) are
# published with the job's ``job.succeeded`` once that transaction commits, never if it rolls back.
OnSuccess = Callable[["AsyncSession", "Job", dict[str, Any]], Awaitable["Sequence[NewEvent] | None"]]


@dataclass(frozen=True)
class JobEnd:
    """How a job ended without success: ``failed``, ``dlq`` or ``canceled``, its code and message."""

    status: str
    code: str | None
    message: str | None


# Runs in the transaction that ends a job without success, wherever that happens (a settle, a
# cancel, a deadline, a callback that never came): the events it returns are published once
# that transaction commits (``conjure.jobs.hooks``).
OnFailure = Callable[["AsyncSession", "Job", JobEnd], Awaitable["Sequence[NewEvent] | None"]]
# Runs in the submitting transaction once the job's row (and its hold) is written: the kind's app
# may refuse the job (raise a ConjureError: the whole submit rolls back) or add its own rows with it.
OnSubmit = Callable[["AsyncSession", "Settings", "Job"], Awaitable[None]]


@dataclass(frozen=True)
class JobKind:
    """One kind of work: its handler, price, and limits."""

    name: str
    handler: Handler
    price_stars: int = 0
    # The price from the running settings (an app's setting, e.g. STAGING_PRICE_STARS), read at
    # each submit; without it the fixed ``price_stars``.
    price: Callable[[Settings], int] | None = None
    # The time limit of one attempt: ``timeout(settings)`` (the kind's own setting, e.g. imagegen's
    # IMAGE_JOB_TIMEOUT_SECONDS), else a fixed ``timeout_seconds`` (tests' kinds), else the platform's
    # MAX_PROCESSING_TIME_MS. Read per runtime, so an operator's setting always reaches the worker.
    timeout: Callable[[Settings], float] | None = None
    timeout_seconds: float | None = None
    max_attempts: int | None = None  # None: settings.job_max_attempts
    # Full-jitter backoff for retryable errors; None: settings.retry_base_seconds / retry_cap_seconds.
    retry_base_seconds: float | None = None
    retry_cap_seconds: float | None = None
    # Runs inside the finishing transaction (same one that captures the hold),
    # so an app's own result table commits atomically with the job's success.
    on_success: OnSuccess | None = None
    on_failure: OnFailure | None = None
    on_submit: OnSubmit | None = None
    prompt_version: Callable[[], str] | None = None
    description: str = ""

    def price_for(self, settings: Settings) -> int:
        """Stars a new job of this kind holds (and costs on success)."""
        return self.price(settings) if self.price is not None else self.price_stars

    def time_limit(self, settings: Settings) -> float:
        """Seconds one attempt may run before it is stopped and retried (``timeout`` code)."""
        if self.timeout is not None:
            return self.timeout(settings)
        if self.timeout_seconds is not None:
            return self.timeout_seconds
        return settings.max_processing_time_ms / 1000


@dataclass
class JobKindRegistry:
    """The kinds a process knows, by name."""

    kinds: dict[str, JobKind] = field(default_factory=dict)

    def register(self, kind: JobKind) -> None:
        if kind.name in self.kinds:
            raise ValueError(f"job kind {kind.name!r} registered twice")
        self.kinds[kind.name] = kind

    def get(self, name: str) -> JobKind:
        return self.kinds[name]

    def __contains__(self, name: object) -> bool:
        return name in self.kinds
