"""One attempt of a job, from claim to settled result, with the claim guarding every write.

The claim is a conditional update (``queued``, or ``processing`` with an expired
lease → ``processing`` with ``attempts + 1`` and this worker's id). The finishing
transaction writes status, result, attempt row, event, wallet capture/release and
the kind's ``on_success`` hook only while that same claim still holds, so a
duplicate delivery or a zombie worker changes nothing.

Attempts that finish at about the same time are settled together (group commit,
:class:`conjure.jobs.types.GroupCommit`): one statement writes the job rows, attempt
rows and events of free, hook-free kinds; another, in a transaction with the wallet
captures and ``on_success`` hooks, those of the others whose payer's row is free; one
Redis round trip publishes the final events and acknowledges the entries. Progress
steps of running jobs are grouped the same way. Every caller still waits for its own
write to commit; a job whose payer's row is locked, or in a batch that failed, is
settled on its own by its caller, so one bad job or one locked payer costs only itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import structlog
from sqlalchemy import Table, insert, select, text, update

from conjure.db import utcnow
from conjure.jobs.context import (
    Claim,
    ClaimKey,
    LostClaim,
    Outcome,
    ProgressWriter,
    RunContext,
    usage_summary,
)
from conjure.jobs.models import Job, JobAttempt, JobStatus
from conjure.jobs.registry import JobCanceled, JobError, PermanentJobError
from conjure.jobs.retry import backoff_delay
from conjure.jobs.service import EVENTS, JOBS, event_message, settle_hold
from conjure.jobs.statements import LOCK_PAYERS, SETTLE_BATCH, claim_statement, claim_update
from conjure.jobs.types import Delivery, GroupCommit
from conjure.jobs.webhooks import schedule_webhook_after_commit
from conjure.observability.metrics import JOB_DURATION, JOB_RETRIES, JOBS_FINISHED

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.jobs.runner")
ATTEMPTS = cast(Table, JobAttempt.__table__)
__all__ = ["Claim", "LostClaim", "Outcome", "RunContext", "Runner"]
BATCH_LIMIT = 500  # attempts (or progress steps) per group-commit statement
# How long a priced or hooked settle waits for a row lock (a payer's row held by a slow request)
# before it fails and its jobs are settled on their own (PostgreSQL ``lock_timeout``).
LOCK_TIMEOUT_MS = 5000
# Settles running on their own at once (a batch that failed, payers whose rows were locked).
ALONE_CONCURRENCY = 8


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

    @property
    def success(self) -> bool:
        return self.status == JobStatus.SUCCEEDED


class Runner:
    """Claims, runs and settles jobs for one worker id."""

    def __init__(self, runtime: Runtime, worker_id: str) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        # True: settled, False: the claim was lost, None: to be settled on its own by its caller.
        self._settles: GroupCommit[tuple[Claim, Outcome], bool | None] = GroupCommit(
            self._settle_batch, BATCH_LIMIT
        )
        self._alone = asyncio.Semaphore(ALONE_CONCURRENCY)
        self.steps = ProgressWriter(runtime, worker_id, BATCH_LIMIT)

    async def drain(self) -> None:
        """Wait for the settles and progress steps already submitted to be written."""
        await self._settles.drain()
        await self.steps.drain()

    def guard(self, claim: Claim) -> tuple[Any, ...]:
        return (
            JOBS.c.id == claim.job_id,
            JOBS.c.status == JobStatus.PROCESSING,
            JOBS.c.attempts == claim.attempt,
            JOBS.c.worker_id == self.worker_id,
        )

    @staticmethod
    def _attempt_row(claim: Claim) -> tuple[Any, ...]:
        return (ATTEMPTS.c.job_id == claim.job_id, ATTEMPTS.c.attempt_number == claim.attempt)

    async def claim(self, deliveries: Sequence[Delivery]) -> tuple[list[Claim], list[str]]:
        """Claim a batch in one transaction; returns the claims and the refs to just acknowledge."""
        first: dict[uuid.UUID, Delivery] = {}
        for delivery in deliveries:
            first.setdefault(delivery.job_id, delivery)
        now = utcnow()
        lease = now + dt.timedelta(seconds=self.runtime.settings.visibility_timeout_seconds)
        params = {"c_ids": list(first), "c_now": now, "c_lease": lease, "c_worker": self.worker_id}
        if self.runtime.db.is_sqlite:
            async with self.runtime.db.session() as session:
                claims, seqs = self._claims((await session.execute(claim_update(), params)).all(), first)
                if claims:
                    await self._record_claims(session, claims, seqs, now)
        else:
            # One statement (claims, attempt rows, events) is its own transaction: no BEGIN/COMMIT.
            async with self.runtime.db.engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                claims, seqs = self._claims(
                    (await autocommit.execute(claim_statement(), params)).all(), first
                )
        if claims:
            await self._publish_claims(claims, seqs)
        claimed = {claim.delivery.ref for claim in claims}
        return claims, [d.ref for d in deliveries if d.ref not in claimed]

    @staticmethod
    def _claims(
        rows: Sequence[Any], first: dict[uuid.UUID, Delivery]
    ) -> tuple[list[Claim], dict[uuid.UUID, int]]:
        claims = [
            Claim(
                delivery=first[row.id],
                kind=row.kind,
                user_id=row.user_id,
                payload=row.payload or {},
                attempt=row.attempts,
                max_attempts=row.max_attempts,
                price_stars=row.price_stars,
                webhook_url=row.webhook_url,
                cancel_requested=row.cancel_requested,
            )
            for row in rows
        ]
        return claims, {row.id: row.event_seq for row in rows}

    async def _record_claims(
        self, session: AsyncSession, claims: list[Claim], seqs: dict[uuid.UUID, int], now: dt.datetime
    ) -> None:
        if not self.runtime.db.is_sqlite:
            return  # written by the claim statement itself
        retried = [claim.job_id for claim in claims if claim.attempt > 1]
        if retried:
            # An attempt left open here belonged to a worker that died: close it.
            await session.execute(
                update(ATTEMPTS)
                .where(ATTEMPTS.c.job_id.in_(retried), ATTEMPTS.c.finished_at.is_(None))
                .values(finished_at=now, success=False, error_code="lease_expired", error="Worker lost.")
            )
        await session.execute(
            insert(ATTEMPTS),
            [
                {
                    "id": claim.attempt_id,
                    "job_id": claim.job_id,
                    "attempt_number": claim.attempt,
                    "worker_id": self.worker_id,
                    "started_at": now,
                }
                for claim in claims
            ],
        )
        await session.execute(
            insert(EVENTS),
            [
                {
                    "job_id": claim.job_id,
                    "seq": seqs[claim.job_id],
                    "type": "processing",
                    "data": {"status": "processing", "attempt": claim.attempt},
                    "created_at": now,
                }
                for claim in claims
            ],
        )

    async def _publish_claims(self, claims: list[Claim], seqs: dict[uuid.UUID, int]) -> None:
        """The ``processing`` events, once the claim is committed (best effort: listeners replay)."""
        messages = [
            (
                claim.job_id,
                event_message(
                    claim.job_id,
                    seqs[claim.job_id],
                    "processing",
                    {"status": "processing", "attempt": claim.attempt},
                ),
            )
            for claim in claims
        ]
        try:
            await self.runtime.broker.events.publish_many(messages)
        except Exception as exc:
            log.warning("claim_publish_failed", error_type=type(exc).__name__)

    async def run(self, claim: Claim) -> None:
        """Run the handler within its timeout, settle the outcome together with other attempts
        finishing now, and acknowledge the entry. Raises only when settling failed (the entry
        then stays pending and is reclaimed after the visibility timeout)."""
        outcome = await self._execute(claim)
        if outcome is None:  # the claim was lost: the new owner settles the job
            await self.runtime.broker.ack_owned(self.worker_id, [claim.delivery.ref])
            return
        if await self._settles.submit((claim, outcome)) is not None:
            return  # settled (or found lost) and acknowledged with its batch
        # Its batch failed, or its payer's row was locked: settle it on its own, without
        # holding up the batches of other jobs (these wait for their locks concurrently).
        async with self._alone:
            settled = await self._settle_alone(claim, outcome)
        if settled:
            await self.runtime.broker.ack([claim.delivery.ref], claim.outbox)
        else:
            await self.runtime.broker.ack_owned(self.worker_id, [claim.delivery.ref])

    async def _settle_alone(self, claim: Claim, outcome: Outcome) -> bool:
        """Settle one attempt in its own transaction (the fallback when a batch failed)."""
        try:
            return await self.finish(claim, outcome)
        except Exception:
            if outcome.kind != "succeeded":
                raise
            # on_success or the wallet capture failed: nothing of the success was
            # committed, so the attempt counts as a retryable failure.
            log.exception("job_finish_failed", job_id=str(claim.job_id))
            return await self.finish(
                claim, Outcome("retry", code="finish_failed", message="Saving the result failed.")
            )

    async def _settle_batch(self, items: list[tuple[Claim, Outcome]]) -> list[bool | None]:
        """Group commit of finished attempts, then one broker round trip: events + acks.

        Free kinds without hooks are written by their own statement, so they never wait behind
        a payer's row lock; priced or hooked ones in a transaction that skips payers whose row is
        locked right now. A job skipped so, or in a part of the batch that failed, gets None: its
        caller settles it on its own, so one bad job or one locked payer costs only its jobs."""
        now = utcnow()
        try:
            settlements = [self._prepare(claim, outcome, now) for claim, outcome in items]
        except Exception:
            log.exception("job_settle_batch_failed", size=len(items))
            return [None] * len(items)
        parts = [
            [s for s in settlements if self._is_plain(s.claim)],
            [s for s in settlements if not self._is_plain(s.claim)],
        ]
        skipped: set[ClaimKey] = set()
        written = await asyncio.gather(
            *(self._write_batch(part, now, skipped) for part in parts if part), return_exceptions=True
        )
        seqs: dict[ClaimKey, int] = {}
        for part, result in zip([part for part in parts if part], written, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                log.error("job_settle_batch_failed", size=len(part), exc_info=result)
                skipped.update(s.claim.key for s in part)
            else:
                seqs.update(result)
        results: list[bool | None] = []
        for settlement in settlements:
            claim = settlement.claim
            seq = seqs.get(claim.key)
            if claim.key in skipped:
                results.append(None)
                continue
            if seq is None:
                log.warning("job_finish_lost_claim", job_id=str(claim.job_id), attempt=claim.attempt)
                results.append(False)
                continue
            claim.outbox.append(
                (claim.job_id, event_message(claim.job_id, seq, settlement.status, settlement.data))
            )
            try:
                await self._after_finish(claim, settlement.status, settlement.delay, settlement.outcome)()
            except Exception as exc:
                # Committed already, so like any after-commit effect it is only logged; a retry
                # whose delayed dispatch was lost is re-dispatched by the reconciler.
                log.warning("job_after_finish_failed", job_id=str(claim.job_id), error=type(exc).__name__)
            results.append(True)
        # A lost claim's entry may be the new owner's (XAUTOCLAIM keeps the entry id): it is
        # acknowledged only if this worker still holds it. Jobs settled on their own ack themselves.
        done = [c for (c, _), r in zip(items, results, strict=True) if r is True]
        lost = [c for (c, _), r in zip(items, results, strict=True) if r is False]
        await self.runtime.broker.ack(
            [claim.delivery.ref for claim in done], [event for claim in done for event in claim.outbox]
        )
        if lost:
            await self.runtime.broker.ack_owned(self.worker_id, [claim.delivery.ref for claim in lost])
        return results

    async def _execute(self, claim: Claim) -> Outcome | None:
        kind = self.runtime.registry.kinds.get(claim.kind)
        if kind is None:
            return Outcome("failed", code="unknown_job_kind", message=f"No handler for {claim.kind!r}.")
        if claim.cancel_requested:
            return Outcome("canceled", code="canceled", message="Canceled by the user.")
        if claim.attempt > claim.max_attempts:
            return Outcome("retry", code="attempts_exhausted", message="Out of attempts (worker lost).")
        settings = self.runtime.settings
        timeout = kind.timeout_seconds or settings.max_processing_time_ms / 1000
        ctx = RunContext(self, claim)
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(kind.handler(ctx), timeout)
            outcome = Outcome("succeeded", result=result)
        except LostClaim:
            log.warning("job_claim_lost", job_id=str(claim.job_id))
            return None
        except JobCanceled:
            outcome = Outcome("canceled", code="canceled", message="Canceled by the user.")
        except PermanentJobError as exc:
            outcome = Outcome("failed", code=exc.code, message=exc.message)
        except JobError as exc:
            outcome = Outcome("retry", code=exc.code, message=exc.message)
        except TimeoutError:
            outcome = Outcome("retry", code="timeout", message=f"The job took longer than {timeout:g} s.")
        except Exception as exc:
            log.exception("job_handler_crashed", job_id=str(claim.job_id), kind=claim.kind)
            outcome = Outcome(
                "retry", code="handler_error", message=f"Internal error ({type(exc).__name__})."
            )
        JOB_DURATION.labels(claim.kind).observe(time.perf_counter() - started)
        outcome.usage = usage_summary(ctx.usage)
        return outcome

    def _finish_values(self, claim: Claim, outcome: Outcome, now: dt.datetime) -> tuple[str, dict[str, Any]]:
        status = outcome.kind
        values: dict[str, Any] = {"updated_at": now, "lease_expires_at": None}
        if outcome.usage is not None:
            values["usage"] = outcome.usage
        if status == "retry":
            if claim.attempt < claim.max_attempts:
                delay = self._backoff(claim)
                values.update(
                    status=JobStatus.QUEUED, run_at=now + dt.timedelta(seconds=delay), worker_id=None
                )
                values.update(error_code=outcome.code, last_error=outcome.message)
                return "retrying", {**values, "_delay": delay}
            status = JobStatus.DLQ
        values.update(status=status, finished_at=now, dedupe_key=None)
        if status == JobStatus.SUCCEEDED:
            values.update(result=outcome.result, error_code=None, last_error=None)
        else:
            values.update(error_code=outcome.code, last_error=outcome.message)
        return status, values

    def _backoff(self, claim: Claim) -> float:
        settings = self.runtime.settings
        kind = self.runtime.registry.kinds.get(claim.kind)
        base = kind.retry_base_seconds if kind and kind.retry_base_seconds is not None else None
        cap = kind.retry_cap_seconds if kind and kind.retry_cap_seconds is not None else None
        return backoff_delay(
            claim.attempt,
            base=settings.retry_base_seconds if base is None else base,
            cap=settings.retry_cap_seconds if cap is None else cap,
        )

    def _prepare(self, claim: Claim, outcome: Outcome, now: dt.datetime) -> Settlement:
        status, values = self._finish_values(claim, outcome, now)
        delay = values.pop("_delay", None)
        success = status == JobStatus.SUCCEEDED
        attempt = {
            "finished_at": now,
            "success": success,
            "error": None if success else outcome.message,
            "error_code": None if success else outcome.code,
            "processing_time_ms": int((time.monotonic() - claim.started) * 1000),
        }
        data: dict[str, Any] = {"status": values["status"], "attempt": claim.attempt}
        if not success:
            data["code"] = outcome.code
        if delay is not None:
            data["delay_seconds"] = round(delay, 4)
        return Settlement(claim, outcome, status, values, delay, attempt, data)

    async def finish(self, claim: Claim, outcome: Outcome) -> bool:
        """Settle one attempt on its own, guarded by the claim; False when the claim was lost."""
        now = utcnow()
        settled = self._prepare(claim, outcome, now)
        seq = (await self._write_batch([settled], now)).get(claim.key)
        if seq is None:
            log.warning("job_finish_lost_claim", job_id=str(claim.job_id), attempt=claim.attempt)
            return False
        claim.outbox.append((claim.job_id, event_message(claim.job_id, seq, settled.status, settled.data)))
        await self._after_finish(claim, settled.status, settled.delay, outcome)()
        return True

    async def _write_batch(
        self, batch: list[Settlement], now: dt.datetime, skipped: set[ClaimKey] | None = None
    ) -> dict[ClaimKey, int]:
        """Write a batch of settlements: the new event seq by claim key, for the claims still held.

        With ``skipped`` (PostgreSQL), jobs whose payer's row another transaction holds are left
        out and added to it rather than waited for; row locks are waited for ``LOCK_TIMEOUT_MS``."""
        rich = [s for s in batch if not self._is_plain(s.claim)]
        if not rich:
            # Free kinds without hooks: the one statement is the whole transaction.
            async with self.runtime.db.engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                written = await autocommit.execute(SETTLE_BATCH, self._batch_params(batch, now))
                return {(row[0], row[1]): int(row[2]) for row in written}
        async with self.runtime.db.session() as session:
            seqs: dict[ClaimKey, int] = {}
            if self.runtime.db.is_sqlite:
                for s in batch:
                    seq = await self._write_outcome(session, s, now)
                    if seq is not None:
                        seqs[s.claim.key] = seq
            else:
                await session.execute(text(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}"))
                if skipped is not None:
                    batch = await self._lock_payers(session, batch, skipped)
                    if not batch:
                        return {}
                rows = await session.execute(SETTLE_BATCH, self._batch_params(batch, now))
                seqs = {(row[0], row[1]): int(row[2]) for row in rows}
            await self._settle_effects(session, [s for s in rich if s.claim.key in seqs])
        return seqs

    @staticmethod
    def _pays(settlement: Settlement) -> bool:
        """Whether settling it captures or releases a hold (and so locks its payer's row)."""
        claim = settlement.claim
        return settlement.status != "retrying" and claim.price_stars > 0 and claim.user_id is not None

    async def _lock_payers(
        self, session: AsyncSession, batch: list[Settlement], skipped: set[ClaimKey]
    ) -> list[Settlement]:
        """Lock the batch's payers that are free now; the jobs of the others go to ``skipped``."""
        payers = {s.claim.user_id for s in batch if self._pays(s)}
        if not payers:
            return batch
        locked = set((await session.execute(LOCK_PAYERS, {"ids": list(payers)})).scalars())
        busy = [s for s in batch if self._pays(s) and s.claim.user_id not in locked]
        for s in busy:
            log.info("job_settle_payer_busy", job_id=str(s.claim.job_id))
            skipped.add(s.claim.key)
        return [s for s in batch if s.claim.key not in skipped]

    def _batch_params(self, batch: list[Settlement], now: dt.datetime) -> dict[str, Any]:
        def text(value: Any) -> str | None:
            return None if value is None else json.dumps(value)

        return {
            "ids": [s.claim.job_id for s in batch],
            "attempts": [s.claim.attempt for s in batch],
            "statuses": [str(s.values["status"]) for s in batch],
            "results": [text(s.outcome.result) if s.success else None for s in batch],
            "usages": [text(s.values.get("usage")) for s in batch],
            "codes": [s.values["error_code"] for s in batch],
            "messages": [s.values["last_error"] for s in batch],
            "run_ats": [s.values.get("run_at") for s in batch],
            "event_types": [str(s.status) for s in batch],
            "event_data": [json.dumps(s.data) for s in batch],
            "successes": [s.success for s in batch],
            "times_ms": [s.attempt["processing_time_ms"] for s in batch],
            "now": now,
            "worker": self.worker_id,
        }

    async def _settle_effects(self, session: AsyncSession, settled: list[Settlement]) -> None:
        """Wallet capture/release, webhooks and ``on_success`` of a batch, in its transaction."""
        hooked = [s.claim.job_id for s in settled if s.success and self._hook(s.claim) is not None]
        if hooked:
            # One query loads the jobs the hooks receive (session.get then finds them in the session).
            await session.execute(select(Job).where(Job.id.in_(hooked)))
        # Workers lock payers' rows in the same order, so two batches never wait on each other in a cycle.
        for s in sorted(settled, key=lambda s: (s.claim.user_id is not None, str(s.claim.user_id))):
            claim = s.claim
            if s.status != "retrying":
                price = claim.price_stars
                await settle_hold(session, job_id=claim.job_id, price_stars=price, success=s.success)
                schedule_webhook_after_commit(session, self.runtime, claim.job_id, claim.webhook_url)
            if s.success:
                await self._on_success(session, claim, s.outcome.result or {})

    def _hook(self, claim: Claim) -> Any:
        kind = self.runtime.registry.kinds.get(claim.kind)
        return None if kind is None else kind.on_success

    def _is_plain(self, claim: Claim) -> bool:
        kind = self.runtime.registry.kinds.get(claim.kind)
        return (
            not self.runtime.db.is_sqlite
            and claim.price_stars <= 0
            and claim.webhook_url is None
            and (kind is None or kind.on_success is None)
        )

    async def _write_outcome(
        self, session: AsyncSession, settled: Settlement, now: dt.datetime
    ) -> int | None:
        """SQLite: job row + attempt row + event under the claim guard; the new event seq, or None."""
        claim = settled.claim
        values = {**settled.values, "event_seq": JOBS.c.event_seq + 1}
        guarded = update(JOBS).where(*self.guard(claim)).values(**values)
        row = (await session.execute(guarded.returning(JOBS.c.event_seq))).first()
        if row is None:
            return None
        await session.execute(update(ATTEMPTS).where(*self._attempt_row(claim)).values(**settled.attempt))
        event = {"job_id": claim.job_id, "seq": row[0], "type": settled.status, "data": settled.data}
        await session.execute(insert(EVENTS).values(**event, created_at=now))
        return int(row[0])

    async def _on_success(self, session: AsyncSession, claim: Claim, result: dict[str, Any]) -> None:
        kind = self.runtime.registry.kinds.get(claim.kind)
        if kind is not None and kind.on_success is not None:
            job = await session.get(Job, claim.job_id)
            assert job is not None
            await kind.on_success(session, job, result)

    def _after_finish(
        self, claim: Claim, status: str, delay: float | None, outcome: Outcome
    ) -> Callable[[], Awaitable[None]]:
        """What happens once the outcome is durable: retry scheduling, DLQ stream, alert, metrics."""
        broker = self.runtime.broker
        job_id = claim.job_id

        async def after() -> None:
            if status == "retrying":
                JOB_RETRIES.labels(claim.kind).inc()
                await broker.dispatch_later(job_id, time.time() + (delay or 0.0))
                return
            JOBS_FINISHED.labels(claim.kind, status).inc()
            if status == JobStatus.DLQ:
                # The alert hook: an error log (Sentry picks errors up when configured).
                log.error("job_dead_lettered", job_id=str(job_id), kind=claim.kind, code=outcome.code)
                await broker.dead_letter(job_id, {"kind": claim.kind, "code": outcome.code or ""})

        return after

    async def heartbeat(self, claims: Sequence[Claim]) -> None:
        """Extend the lease of running jobs (table and broker) so they are not reclaimed."""
        if not claims:
            return
        now = utcnow()
        lease = now + dt.timedelta(seconds=self.runtime.settings.visibility_timeout_seconds)
        mine = (
            select(JOBS.c.id)
            .where(
                JOBS.c.id.in_([c.job_id for c in claims]),
                JOBS.c.status == JobStatus.PROCESSING,
                JOBS.c.worker_id == self.worker_id,
            )
            # Rows a settle or progress batch holds are being written anyway; waiting for them
            # could deadlock against that batch's multi-row update.
            .with_for_update(skip_locked=True)
        )
        async with self.runtime.db.session() as session:
            rows = await session.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(mine))
                .values(heartbeat_at=now, lease_expires_at=lease)
                .returning(JOBS.c.id)
            )
            held = set(rows.scalars())
        # Only entries of jobs still ours: touching takes the entry over (XCLAIM), and a lost
        # claim's entry now belongs to the worker that rescued the job.
        refs = [c.delivery.ref for c in claims if c.job_id in held]
        if refs:
            await self.runtime.broker.touch(self.worker_id, refs)
