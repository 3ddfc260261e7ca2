"""The records of one attempt of a job: its claim, its outcome, the writes that settle it, and
its progress steps. Plain values shared by the runner, the progress writer and the job stores."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conjure.jobs.models import JobStatus
from conjure.jobs.types import Delivery

if TYPE_CHECKING:
    from conjure.events.types import NewEvent
    from conjure.jobs.registry import Park

ClaimKey = tuple[uuid.UUID, int]  # (job id, attempt)
# A NUL character as json.dumps writes it (an escaped backslash before "u0000" is just text).
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class UnstorableProgress(ValueError):
    """A progress step PostgreSQL's jsonb cannot store (NaN, Infinity or a NUL character)."""


def progress_json(value: Any) -> str:
    """``value`` as JSON that jsonb accepts, else :class:`UnstorableProgress` (for this job alone)."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UnstorableProgress(f"This progress step cannot be stored as JSON: {exc}") from exc
    if _NUL.search(text):
        raise UnstorableProgress("This progress step cannot be stored: it has a NUL character (\\u0000).")
    return text


class LostClaim(Exception):
    """This worker no longer owns the job (its lease expired and another worker took it)."""


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """What a claim returns per job it took (the job store's ``claim``)."""

    id: uuid.UUID
    kind: str
    user_id: uuid.UUID | None
    payload: dict[str, Any] | None
    attempts: int
    max_attempts: int
    price_stars: int
    webhook_url: str | None
    cancel_requested: bool
    event_seq: int
    usage: dict[str, Any] | None  # what the job's earlier attempts used (None for a first one)


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
    # The job's usage over its earlier attempts (as claimed): this attempt's is added to it.
    usage_before: dict[str, Any] | None = None
    # Events to publish together with the acknowledgement (one Redis round trip).
    outbox: list[tuple[uuid.UUID, dict[str, Any]]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    # The ``processing`` event while it is not sent yet: a job that ends within
    # ``runner.ANNOUNCE_AFTER`` sends it in front of its final event, in the acknowledgement's
    # round trip; a longer one has it sent on its own (``announced`` is set once it is out,
    # and the final events wait for that, so that they never overtake it).
    processing: dict[str, Any] | None = None
    announced: asyncio.Event | None = None

    @property
    def job_id(self) -> uuid.UUID:
        return self.delivery.job_id

    @property
    def key(self) -> ClaimKey:
        """This attempt of this job (what the batch statements return per written row)."""
        return (self.job_id, self.attempt)


@dataclass
class Outcome:
    """How an attempt ended: ``succeeded``, ``retry`` (retryable), ``failed`` or ``canceled``; or
    without spending the attempt (``conjure.jobs.parking``): ``parked`` (waits for a callback,
    ``park`` says until when) or ``deferred`` (not tried; waits at least ``retry_after``)."""

    kind: str
    result: dict[str, Any] | None = None
    code: str | None = None
    message: str | None = None
    usage: dict[str, Any] | None = None
    # A retry's least delay in seconds, as the provider asked (``RetryableJobError.retry_after``).
    retry_after: float | None = None
    park: Park | None = None


@dataclass
class Settlement:
    """One attempt's outcome turned into the writes that settle it."""

    claim: Claim
    outcome: Outcome
    status: str  # the event type: succeeded, retrying, failed, dlq or canceled
    values: dict[str, Any]  # the job row's new columns
    delay: float | None  # seconds until a retry
    attempt: dict[str, Any]  # the attempt row's new columns
    data: dict[str, Any]  # the event's data
    # Users' events the kind's ``on_success`` returned: published once this settlement commits.
    events: list[NewEvent] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.status == JobStatus.SUCCEEDED

    @property
    def pays(self) -> bool:
        """Whether settling it captures or releases a hold (and so locks its payer's row)."""
        claim = self.claim
        return self.status != "retrying" and claim.price_stars > 0 and claim.user_id is not None


@dataclass
class ProgressStep:
    """One ``ctx.progress`` call, checked storable before any write."""

    claim: Claim
    progress: dict[str, Any]
    data: dict[str, Any]  # the event's data
    texts: tuple[str, str]  # progress and data as JSON


async def announced(claims: Iterable[Claim]) -> None:
    """Before these claims' final events go out: put a ``processing`` event not sent yet in
    front of them (same round trip), or wait until the one sent alone is out."""
    waits: set[asyncio.Event] = set()
    for claim in claims:
        if claim.processing is not None:
            claim.outbox.insert(0, (claim.job_id, claim.processing))
            claim.processing = None
        elif claim.announced is not None and not claim.announced.is_set():
            waits.add(claim.announced)
    for sent in waits:
        await sent.wait()


def usage_summary(calls: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One attempt's usage: its model calls and their totals (None when it made none)."""
    if not calls:
        return None
    return {
        "calls": calls,
        "input_tokens": sum(c["input_tokens"] for c in calls),
        "output_tokens": sum(c["output_tokens"] for c in calls),
        "cost_usd": round(sum(c["cost_usd"] for c in calls), 6),
    }


def add_usage(total: dict[str, Any] | None, attempt: dict[str, Any] | None) -> dict[str, Any] | None:
    """The job's usage once ``attempt``'s is added to its earlier attempts' ``total``: the calls
    of both, in order, and the sums (the usage reports split by provider from the calls)."""
    if attempt is None:
        return total
    if total is None:
        return attempt
    return {
        "calls": [*(total.get("calls") or ()), *(attempt.get("calls") or ())],
        "input_tokens": int(total.get("input_tokens") or 0) + int(attempt.get("input_tokens") or 0),
        "output_tokens": int(total.get("output_tokens") or 0) + int(attempt.get("output_tokens") or 0),
        "cost_usd": round(float(total.get("cost_usd") or 0.0) + float(attempt.get("cost_usd") or 0.0), 6),
    }
