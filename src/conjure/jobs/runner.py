"""One attempt of a job, from claim to settled result: the orchestration of one worker id.

:mod:`conjure.jobs.claim` takes jobs (and heartbeats them), the handler runs here within its
timeout with a :class:`conjure.jobs.context.RunContext`, and :mod:`conjure.jobs.settle` writes
the outcome under the same claim (grouped with other attempts finishing at the same time),
so a duplicate delivery or a zombie worker changes nothing. Progress steps go through
:class:`conjure.jobs.progress.ProgressWriter`. Every write goes through the job store
(:mod:`conjure.jobs.store`), one per database backend.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import structlog

from conjure.jobs.attempt import Claim, LostClaim, Outcome, usage_summary
from conjure.jobs.claim import heartbeat, processing_events, publish_processing, take
from conjure.jobs.context import RunContext
from conjure.jobs.progress import ProgressWriter
from conjure.jobs.registry import (
    JobCanceled,
    JobDeferred,
    JobError,
    JobParked,
    PermanentJobError,
    RetryableJobError,
)
from conjure.jobs.settle import Settler
from conjure.jobs.types import Delivery
from conjure.observability.errors import report_exception
from conjure.observability.metrics import JOB_DURATION
from conjure.observability.tracing import attempt_span, observed_storage, span

if TYPE_CHECKING:
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.jobs.runner")
__all__ = ["Claim", "LostClaim", "Outcome", "RunContext", "Runner"]
BATCH_LIMIT = 500  # attempts (or progress steps) per group-commit statement
# A claimed job's ``processing`` event is published on its own once it has run this long;
# a job done sooner sends it with its final event (listeners see it that much later at most).
ANNOUNCE_AFTER = 0.02


class Runner:
    """Claims, runs and settles jobs for one worker id."""

    def __init__(self, runtime: Runtime, worker_id: str) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        self.settler = Settler(runtime, worker_id, BATCH_LIMIT)
        self.steps = ProgressWriter(runtime, worker_id, BATCH_LIMIT)
        self._publishing: set[asyncio.Task[None]] = set()  # ``processing`` events sent alone

    async def drain(self) -> None:
        """Wait for the settles, progress steps and ``processing`` publishes already submitted."""
        await self.settler.drain()
        await self.steps.drain()
        await asyncio.gather(*self._publishing, return_exceptions=True)

    async def claim(self, deliveries: Sequence[Delivery]) -> tuple[list[Claim], list[str]]:
        """Claim a batch in one transaction; returns the claims and the refs to just acknowledge."""
        claims, skipped, seqs = await take(self.runtime, self.worker_id, deliveries)
        processing_events(claims, seqs)  # published once the handler runs (``_announce``)
        return claims, skipped

    def _announce(self, claim: Claim) -> None:
        """The handler still runs after ANNOUNCE_AFTER: publish its ``processing`` event alone
        (a job done sooner sends it in front of its final event, one round trip fewer)."""
        if claim.processing is None:
            return
        sent = claim.announced = asyncio.Event()
        task = asyncio.create_task(publish_processing(self.runtime, [claim]))
        self._publishing.add(task)

        def published(done: asyncio.Task[None]) -> None:
            self._publishing.discard(done)
            sent.set()

        task.add_done_callback(published)

    async def heartbeat(self, claims: Sequence[Claim]) -> None:
        """Extend the lease of running jobs (table and broker) so they are not reclaimed."""
        await heartbeat(self.runtime, self.worker_id, claims)

    async def finish(self, claim: Claim, outcome: Outcome) -> bool:
        """Settle one attempt on its own, guarded by the claim; False when the claim was lost."""
        return await self.settler.finish(claim, outcome)

    async def run(
        self,
        claim: Claim,
        slots: AbstractAsyncContextManager[object] | None = None,
        handled: Callable[[float], None] | None = None,
    ) -> None:
        """Run the handler within its timeout (holding one of ``slots``, the worker's bound on
        concurrent handlers, while it runs: not while it waits for a slot or for its settle),
        settle the outcome together with other attempts finishing now, and acknowledge the
        entry. Raises only when settling failed (the entry then stays pending and is reclaimed
        after the visibility timeout). ``handled`` hears how long the handler took."""
        async with attempt_span(self.runtime.db, claim):  # a no-op unless tracing is on
            if slots is None:
                outcome = await self._execute(claim)
            else:
                async with slots:
                    started = time.monotonic()
                    outcome = await self._execute(claim)
                    if handled is not None:
                        handled(time.monotonic() - started)
            if outcome is None:  # the claim was lost: the new owner settles the job
                claim.processing = None  # and tells the listeners (this one is stale by now)
                await self.runtime.broker.ack_owned(self.worker_id, [claim.delivery.ref])
                return
            with span("settle", **{"conjure.job.outcome": outcome.kind}):
                await self.settler.settle(claim, outcome)

    async def _execute(self, claim: Claim) -> Outcome | None:
        # The timer never outlives the run, so nothing is published for a job no longer running.
        timer = asyncio.get_running_loop().call_later(ANNOUNCE_AFTER, self._announce, claim)
        try:
            return await self._run_handler(claim)
        finally:
            timer.cancel()

    async def _run_handler(self, claim: Claim) -> Outcome | None:
        kind = self.runtime.registry.kinds.get(claim.kind)
        if kind is None:
            return Outcome("failed", code="unknown_job_kind", message=f"No handler for {claim.kind!r}.")
        if claim.cancel_requested:
            return Outcome("canceled", code="canceled", message="Canceled by the user.")
        if claim.attempt > claim.max_attempts:
            return Outcome("retry", code="attempts_exhausted", message="Out of attempts (worker lost).")
        runtime = self.runtime
        timeout = kind.time_limit(runtime.settings)
        ctx = RunContext(
            claim,
            self.steps,
            settings=runtime.settings,
            storage=observed_storage(runtime.storage),
            limiter=runtime.limiter,
            db=runtime.db,
            user_events=runtime.user_events,
        )
        started = time.perf_counter()
        try:
            # A timeout scope, not wait_for: no extra task (and loop turn) per job.
            async with asyncio.timeout(timeout):
                result = await kind.handler(ctx)
            outcome = Outcome("succeeded", result=result)
        except LostClaim:
            log.warning("job_claim_lost", job_id=str(claim.job_id))
            return None
        except JobCanceled:
            outcome = Outcome("canceled", code="canceled", message="Canceled by the user.")
        # Runs that spend no attempt (jobs/parking.py): waiting for a callback, or not tried.
        except JobParked as exc:
            outcome = Outcome("parked", park=exc.park)
        except JobDeferred as exc:
            outcome = Outcome("deferred", code=exc.code, message=exc.message, retry_after=exc.retry_after)
        except PermanentJobError as exc:
            outcome = Outcome("failed", code=exc.code, message=exc.message)
        except JobError as exc:
            retry_after = exc.retry_after if isinstance(exc, RetryableJobError) else None
            outcome = Outcome("retry", code=exc.code, message=exc.message, retry_after=retry_after)
        except TimeoutError:
            outcome = Outcome("retry", code="timeout", message=f"The job took longer than {timeout:g} s.")
        except Exception as exc:
            log.exception("job_handler_crashed", job_id=str(claim.job_id), kind=claim.kind)
            report_exception(exc, job_id=str(claim.job_id), job_kind=claim.kind)
            outcome = Outcome(
                "retry", code="handler_error", message=f"Internal error ({type(exc).__name__})."
            )
        JOB_DURATION.labels(claim.kind).observe(time.perf_counter() - started)
        outcome.usage = usage_summary(ctx.usage)
        return outcome
