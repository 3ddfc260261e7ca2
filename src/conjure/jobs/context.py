"""What a handler sees while it runs (:class:`RunContext`), the claim/outcome records of one
attempt, and :class:`ProgressWriter`, which records the progress steps of all running jobs."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import insert, update

from conjure.db import utcnow
from conjure.jobs.registry import JobCanceled
from conjure.jobs.service import EVENTS, JOBS, event_message
from conjure.jobs.statements import PROGRESS_BATCH
from conjure.jobs.types import Delivery, GroupCommit

if TYPE_CHECKING:
    from conjure.jobs.runner import Runner
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.jobs.context")
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

    @property
    def key(self) -> tuple[uuid.UUID, int]:
        """This attempt of this job (what the batch statements return per written row)."""
        return (self.job_id, self.attempt)


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
        """Record a step (committed and published on return); raise JobCanceled if a cancel was asked."""
        progress = {"step": step, "message": message, "data": dict(data or {})}
        if await self.runner.steps.record(self.claim, progress):
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


@dataclass
class _Step:
    claim: Claim
    progress: dict[str, Any]
    data: dict[str, Any]  # the event's data
    texts: tuple[str, str]  # progress and data as JSON


class ProgressWriter:
    """Progress steps of one worker's running jobs, written together (group commit).

    A step costs its job one awaited write as before (committed, then published, then
    ``record`` returns), but steps of concurrent jobs share the statement, the commit and
    the Redis round trip: one ``UPDATE … FROM unnest(…)`` + event insert on PostgreSQL.
    """

    def __init__(self, runtime: Runtime, worker_id: str, limit: int = 500) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        self._batches: GroupCommit[_Step, bool] = GroupCommit(self._write, limit)

    async def record(self, claim: Claim, progress: dict[str, Any]) -> bool:
        """Write one step under the claim; True when a cancel was requested, LostClaim when not ours."""
        data = {"status": "processing", **progress}
        # Checked here, so a step that cannot be stored fails its own job, not the batch.
        step = _Step(claim, progress, data, (progress_json(progress), progress_json(data)))
        return await self._batches.submit(step)

    async def drain(self) -> None:
        await self._batches.drain()

    async def _write(self, steps: list[_Step]) -> list[bool | BaseException]:
        now = utcnow()
        written: dict[int, tuple[int, bool]] = {}  # index in ``steps`` -> (event seq, cancel requested)
        failed: dict[int, BaseException] = {}
        pending = list(range(len(steps)))
        while pending:
            # One step per job and statement (a handler may report steps concurrently).
            seen: set[uuid.UUID] = set()
            batch: list[int] = []
            later: list[int] = []
            for index in pending:
                job_id = steps[index].claim.job_id
                (later if job_id in seen else batch).append(index)
                seen.add(job_id)
            for index, outcome in (await self._write_each(steps, batch, now)).items():
                if isinstance(outcome, BaseException):
                    failed[index] = outcome
                else:
                    written[index] = outcome
            pending = later
        events = [
            (steps[i].claim.job_id, event_message(steps[i].claim.job_id, seq, "progress", steps[i].data))
            for i, (seq, _) in sorted(written.items())
        ]
        try:
            await self.runtime.broker.events.publish_many(events)
        except Exception as exc:
            # Committed already; listeners replay from the table (the bus only wakes them).
            log.warning("progress_publish_failed", error_type=type(exc).__name__)
        return [
            written[i][1] if i in written else failed[i] if i in failed else LostClaim()
            for i in range(len(steps))
        ]

    async def _write_each(
        self, steps: list[_Step], batch: list[int], now: Any
    ) -> dict[int, tuple[int, bool] | BaseException]:
        """Write the steps ``batch`` indexes together; if that fails, each on its own, so that a
        step the database rejects fails only its own caller. Lost claims are left out."""
        try:
            rows = await self._write_once([steps[index] for index in batch], now)
        except Exception as exc:
            if len(batch) == 1:
                log.warning("progress_write_failed", job_id=str(steps[batch[0]].claim.job_id))
                return {batch[0]: exc}
            log.warning("progress_batch_failed", size=len(batch), error_type=type(exc).__name__)
            out: dict[int, tuple[int, bool] | BaseException] = {}
            for index in batch:
                out.update(await self._write_each(steps, [index], now))
            return out
        keys = {index: steps[index].claim.key for index in batch}
        return {index: rows[key] for index, key in keys.items() if key in rows}

    async def _write_once(self, steps: list[_Step], now: Any) -> dict[ClaimKey, tuple[int, bool]]:
        """Write steps of distinct jobs: (event seq, cancel requested) by claim key, for those still ours."""
        out: dict[ClaimKey, tuple[int, bool]] = {}
        if self.runtime.db.is_sqlite:
            async with self.runtime.db.session() as session:
                for step in steps:
                    claim = step.claim
                    row = (
                        await session.execute(
                            update(JOBS)
                            .where(
                                JOBS.c.id == claim.job_id,
                                JOBS.c.status == "processing",
                                JOBS.c.attempts == claim.attempt,
                                JOBS.c.worker_id == self.worker_id,
                            )
                            .values(progress=step.progress, event_seq=JOBS.c.event_seq + 1, updated_at=now)
                            .returning(JOBS.c.event_seq, JOBS.c.cancel_requested)
                        )
                    ).first()
                    if row is None:
                        continue
                    event = {"job_id": claim.job_id, "seq": row[0], "type": "progress", "data": step.data}
                    await session.execute(insert(EVENTS).values(**event, created_at=now))
                    out[claim.key] = (int(row[0]), bool(row[1]))
            return out
        params = {
            "ids": [step.claim.job_id for step in steps],
            "attempts": [step.claim.attempt for step in steps],
            "progress": [step.texts[0] for step in steps],
            "event_data": [step.texts[1] for step in steps],
            "now": now,
            "worker": self.worker_id,
        }
        async with self.runtime.db.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            rows = await autocommit.execute(PROGRESS_BATCH, params)
            return {(row[0], row[1]): (int(row[2]), bool(row[3])) for row in rows}
