"""What a handler sees while it runs one attempt (:class:`RunContext`, the engine's
:class:`conjure.jobs.registry.JobContext`): its job, the process's settings, storage,
limiter, database and users' event hub, the two things it may report, progress steps
and model usage, and parking (``park``, ``saved_state``: :mod:`conjure.jobs.parking`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from conjure.db import utcnow
from conjure.jobs.attempt import Claim
from conjure.jobs.parking import read_saved_state
from conjure.jobs.registry import JobCanceled, JobParked, Park, SavedState
from conjure.observability.metrics import MODEL_COST
from conjure.observability.tracing import add_event

if TYPE_CHECKING:
    from conjure.db import Database
    from conjure.events.types import UserEventHub
    from conjure.ratelimit.service import RateLimiter
    from conjure.settings import Settings
    from conjure.storage.service import ObjectStore


class StepRecorder(Protocol):
    """Where progress steps go (:class:`conjure.jobs.progress.ProgressWriter`)."""

    async def record(self, claim: Claim, progress: dict[str, Any]) -> bool:
        """Store one step under the claim; True when a cancel was requested."""


class RunContext:
    """The :class:`conjure.jobs.registry.JobContext` a handler receives."""

    def __init__(
        self,
        claim: Claim,
        steps: StepRecorder,
        *,
        settings: Settings,
        storage: ObjectStore,
        limiter: RateLimiter,
        db: Database,
        user_events: UserEventHub,
    ) -> None:
        self.claim = claim
        self.steps = steps
        self.job_id: uuid.UUID = claim.job_id
        self.user_id: uuid.UUID | None = claim.user_id
        self.attempt: int = claim.attempt
        self.max_attempts: int = claim.max_attempts
        self.payload: Mapping[str, Any] = claim.payload
        self.settings = settings
        self.storage = storage
        self.limiter = limiter
        self.db = db
        self.user_events = user_events
        self.usage: list[dict[str, Any]] = []

    async def progress(
        self, step: str, *, message: str | None = None, data: Mapping[str, Any] | None = None
    ) -> None:
        """Record a step (committed and published on return); raise JobCanceled if a cancel was asked."""
        progress = {"step": step, "message": message, "data": dict(data or {})}
        add_event("progress", step=step)  # on the attempt's span, when tracing is on
        if await self.steps.record(self.claim, progress):
            raise JobCanceled

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
        """Add one model call's usage; saved with the attempt's outcome (the usage reports read it)."""
        MODEL_COST.labels(provider).inc(max(cost_usd, 0.0))
        self.usage.append(
            {
                "provider": provider,
                "model": model or provider,
                "step": step,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cost_usd": cost_usd,
            }
        )

    async def park(
        self, *, poll_after: float, deadline: dt.datetime, checkpoint: Mapping[str, Any]
    ) -> NoReturn:
        """End this run; the job waits for a callback without a worker (``conjure.jobs.parking``)."""
        poll_at = utcnow() + dt.timedelta(seconds=max(poll_after, 0.0))
        raise JobParked(Park(poll_at=poll_at, deadline=deadline, checkpoint=dict(checkpoint)))

    async def saved_state(self) -> SavedState:
        """The last park's checkpoint and the callback's data (consumed by this read)."""
        return await read_saved_state(self.db, self.job_id, self.attempt)
