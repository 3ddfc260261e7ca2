"""What a handler sees while it runs (:class:`RunContext`), and the claim/outcome records of one attempt."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from conjure.db import utcnow
from conjure.jobs.registry import JobCanceled
from conjure.jobs.service import JOBS, record_event
from conjure.jobs.types import Delivery

if TYPE_CHECKING:
    from conjure.jobs.runner import Runner
    from conjure.runtime import Runtime


class LostClaim(Exception):
    """This worker no longer owns the job (its lease expired and another worker took it)."""


@dataclass
class Claim:
    """A job this worker owns for one attempt."""

    delivery: Delivery
    kind: str
    user_id: uuid.UUID | None
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    price_stars: int
    webhook_url: str | None
    cancel_requested: bool
    attempt_id: uuid.UUID = field(default_factory=uuid.uuid4)
    # Events to publish together with the acknowledgement (one Redis round trip).
    outbox: list[tuple[uuid.UUID, dict[str, Any]]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def job_id(self) -> uuid.UUID:
        return self.delivery.job_id


@dataclass
class Outcome:
    """How an attempt ended: ``succeeded``, ``retry`` (retryable), ``failed`` or ``canceled``."""

    kind: str
    result: dict[str, Any] | None = None
    code: str | None = None
    message: str | None = None
    usage: dict[str, Any] | None = None


class RunContext:
    """The :class:`conjure.jobs.registry.JobContext` a handler receives."""

    def __init__(self, runner: Runner, claim: Claim) -> None:
        self.runner = runner
        self.claim = claim
        self.job_id: uuid.UUID = claim.job_id
        self.user_id: uuid.UUID | None = claim.user_id
        self.attempt: int = claim.attempt
        self.payload: Mapping[str, Any] = claim.payload
        self.runtime: Runtime = runner.runtime
        self.usage: list[dict[str, Any]] = []

    async def progress(
        self, step: str, *, message: str | None = None, data: Mapping[str, Any] | None = None
    ) -> None:
        """Record a step; raise JobCanceled when the owner asked to cancel."""
        progress = {"step": step, "message": message, "data": dict(data or {})}
        async with self.runtime.db.session() as session:
            row = (
                await session.execute(
                    update(JOBS)
                    .where(*self.runner.guard(self.claim))
                    .values(progress=progress, event_seq=JOBS.c.event_seq + 1, updated_at=utcnow())
                    .returning(JOBS.c.event_seq, JOBS.c.cancel_requested)
                )
            ).first()
            if row is None:
                raise LostClaim
            await record_event(
                session, self.runtime, self.job_id, row[0], "progress", {"status": "processing", **progress}
            )
        if row[1]:
            raise JobCanceled

    def record_usage(
        self,
        *,
        provider: str,
        step: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost_usd: float = 0.0,
    ) -> None:
        """Add one model call's usage; saved with the attempt's outcome."""
        self.usage.append(
            {
                "provider": provider,
                "step": step,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cost_usd": cost_usd,
            }
        )


def usage_summary(calls: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not calls:
        return None
    return {
        "calls": calls,
        "input_tokens": sum(c["input_tokens"] for c in calls),
        "output_tokens": sum(c["output_tokens"] for c in calls),
        "cost_usd": round(sum(c["cost_usd"] for c in calls), 6),
    }
