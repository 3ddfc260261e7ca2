"""Settling attempts: an outcome becomes the job's next state, written under the claim.

Attempts that finish at about the same time are settled together (group commit,
:class:`conjure.jobs.types.GroupCommit`): the job store writes the job rows, attempt rows and
events of free, hook-free kinds in one statement; those of the others, in a transaction with
the wallet captures/releases, webhooks and ``on_success`` hooks (:meth:`Settler._effects`),
leaving out jobs whose payer's row is held right now; one Redis round trip publishes the final
events and acknowledges the entries. Every caller still waits for its own write to commit; a
job whose payer's row is locked, or in a batch that failed, is settled on its own by its
caller, so one bad job or one locked payer costs only itself.

Once a write has committed, its jobs' owners hear of each terminal outcome on their event
stream (``job.succeeded|failed|canceled``, :mod:`conjure.events`), with the events the kinds'
``on_success`` / ``on_failure`` hooks returned; one publish per batch, none for a write that did
not commit. A parked or deferred run spends no attempt and is written on its own
(:mod:`conjure.jobs.parking`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select

from conjure.db import utcnow
from conjure.dbfaults import retry_transaction
from conjure.events.redis_hub import RedisUserEventHub
from conjure.events.service import job_outcome_event, publish_user_events
from conjure.jobs.attempt import Claim, ClaimKey, Outcome, Settlement, add_usage, announced
from conjure.jobs.events import event_message
from conjure.jobs.hooks import checked, failure_events
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.parking import DEFERRED, PARKED, free_run
from conjure.jobs.retry import at_least, backoff_delay
from conjure.jobs.service import settle_hold
from conjure.jobs.store.pick import store_for
from conjure.jobs.streams import RedisStreamsBroker
from conjure.jobs.types import GroupCommit
from conjure.jobs.webhooks import schedule_webhook_after_commit
from conjure.observability.jobs import observe_settled
from conjure.observability.metrics import JOB_RETRIES, JOBS_FINISHED

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline
    from sqlalchemy.ext.asyncio import AsyncSession

    from conjure.events.types import NewEvent
    from conjure.jobs.registry import JobKind, OnSuccess
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.jobs.settle")
# Settles running on their own at once (a batch that failed, payers whose rows were locked).
ALONE_CONCURRENCY = 8


class Settler:
    """Settles one worker's finished attempts, together where it can and alone where it must."""

    def __init__(self, runtime: Runtime, worker_id: str, limit: int) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        self.store = store_for(runtime.db)
        # True: settled, False: the claim was lost, None: to be settled on its own by its caller.
        self._batches: GroupCommit[tuple[Claim, Outcome], bool | None] = GroupCommit(
            self._settle_batch, limit
        )
        self._alone = asyncio.Semaphore(ALONE_CONCURRENCY)

    async def drain(self) -> None:
        await self._batches.drain()

    async def settle(self, claim: Claim, outcome: Outcome) -> None:
        """Settle with the others finishing now, and acknowledge the entry. Raises only when
        settling failed (the entry then stays pending and is reclaimed after the visibility timeout)."""
        if outcome.kind in (PARKED, DEFERRED):
            instead = await self._free(claim, outcome)
            if instead is None:
                return
            outcome = instead
        if await self._batches.submit((claim, outcome)) is not None:
            return  # settled (or found lost) and acknowledged with its batch
        # Its batch failed, or its payer's row was locked: settle it on its own, without
        # holding up the batches of other jobs (these wait for their locks concurrently).
        async with self._alone:
            settled = await self._settle_alone(claim, outcome)
        if settled:
            await announced([claim])
            await self.runtime.broker.ack([claim.delivery.ref], claim.outbox)
        else:
            claim.processing = None  # lost: the new owner tells the listeners
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
                claim,
                # The attempt's model calls were made (and paid for) even though its success was not.
                Outcome(
                    "retry", code="finish_failed", message="Saving the result failed.", usage=outcome.usage
                ),
            )

    async def _free(self, claim: Claim, outcome: Outcome) -> Outcome | None:
        """Write a parked or deferred run (no attempt spent) and acknowledge its entry; returns the
        outcome to settle instead when it cannot be free (a cancel was asked, a cap reached)."""
        delay = at_least(self._backoff(claim), outcome.retry_after) if outcome.kind == DEFERRED else 0.0
        freed = await free_run(self.runtime, self.worker_id, claim, outcome, delay)
        if isinstance(freed, Outcome):
            return freed
        broker = self.runtime.broker
        if freed is None:
            log.warning("job_finish_lost_claim", job_id=str(claim.job_id), attempt=claim.attempt)
            claim.processing = None
            await broker.ack_owned(self.worker_id, [claim.delivery.ref])
            return None
        claim.outbox.append((claim.job_id, event_message(claim.job_id, freed.seq, freed.event, freed.data)))
        await announced([claim])
        await broker.ack([claim.delivery.ref], claim.outbox)
        try:
            if freed.dispatch_now:  # a callback came before the park committed
                await broker.dispatch([claim.job_id])
            elif freed.delay is not None:
                await broker.dispatch_later(claim.job_id, time.time() + freed.delay)
        except Exception as exc:
            # Committed and queued: the reconciler dispatches it if this was lost.
            log.warning("job_free_dispatch_failed", job_id=str(claim.job_id), error=type(exc).__name__)
        return None

    async def finish(self, claim: Claim, outcome: Outcome) -> bool:
        """Settle one attempt on its own, guarded by the claim; False when the claim was lost."""
        if outcome.kind in (PARKED, DEFERRED):
            instead = await self._free(claim, outcome)
            if instead is None:
                return True
            outcome = instead
        now = utcnow()
        settled = self.prepare(claim, outcome, now)
        seq = (await self._write([settled], now)).get(claim.key)
        if seq is None:
            log.warning("job_finish_lost_claim", job_id=str(claim.job_id), attempt=claim.attempt)
            return False
        claim.outbox.append((claim.job_id, event_message(claim.job_id, seq, settled.status, settled.data)))
        await self._publish([settled])
        await self._after_finish(settled)()
        return True

    async def _settle_batch(self, items: list[tuple[Claim, Outcome]]) -> list[bool | None]:
        """Group commit of finished attempts, then one broker round trip: events + acks.

        Free kinds without hooks are written by their own statement where the store can (so they
        never wait behind a payer's row lock); priced or hooked ones in a transaction that skips
        payers whose row is locked right now. A job skipped so, or in a part of the batch that
        failed, gets None: its caller settles it on its own."""
        now = utcnow()
        try:
            settlements = [self.prepare(claim, outcome, now) for claim, outcome in items]
        except Exception:
            log.exception("job_settle_batch_failed", size=len(items))
            return [None] * len(items)
        if self.store.separate_plain_settles:
            plain = [s for s in settlements if self._is_plain(s.claim)]
            parts = [plain, [s for s in settlements if not self._is_plain(s.claim)]]
        else:
            parts = [settlements]
        parts = [part for part in parts if part]
        skipped: set[ClaimKey] = set()
        written = await self._write_parts(parts, now, skipped)
        seqs: dict[ClaimKey, int] = {}
        for part, result in zip(parts, written, strict=True):
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
                await self._after_finish(settlement)()
            except Exception as exc:
                # Committed already, so like any after-commit effect it is only logged; a retry
                # whose delayed dispatch was lost is re-dispatched by the reconciler.
                log.warning("job_after_finish_failed", job_id=str(claim.job_id), error=type(exc).__name__)
            results.append(True)
        # A lost claim's entry may be the new owner's (XAUTOCLAIM keeps the entry id): it is
        # acknowledged only if this worker still holds it. Jobs settled on their own ack themselves.
        done = [c for (c, _), r in zip(items, results, strict=True) if r is True]
        lost = [c for (c, _), r in zip(items, results, strict=True) if r is False]
        await self._acknowledge(
            done, lost, [s for s, r in zip(settlements, results, strict=True) if r is True]
        )
        return results

    async def _acknowledge(self, done: list[Claim], lost: list[Claim], committed: list[Settlement]) -> None:
        """One pipeline: the final events of ``done`` and their acknowledgements; lost claims'
        entries only where this worker still holds them."""
        # The owners' events (their streams) go out with the acknowledgement (in its pipeline, or
        # alongside it), not after it: the batch's cycle, so the next batch's start, is shorter.
        events = user_events(committed)
        broker = self.runtime.broker
        rider = self._owners_rider(events)
        owners = None
        if events and rider is None:
            owners = asyncio.create_task(publish_user_events(self.runtime.user_events, events))
        try:
            await announced(done)
            refs = [claim.delivery.ref for claim in done]
            outbox = [event for claim in done for event in claim.outbox]
            if rider is not None:
                assert isinstance(broker, RedisStreamsBroker)
                await broker.ack(refs, outbox, (rider,))
            else:
                await broker.ack(refs, outbox)
            if lost:
                for claim in lost:
                    claim.processing = None  # the new owners tell the listeners
                await self.runtime.broker.ack_owned(self.worker_id, [claim.delivery.ref for claim in lost])
        finally:
            if owners is not None:
                await owners

    def _owners_rider(self, events: list[NewEvent]) -> Callable[[Pipeline], object] | None:
        """The owners' events as commands on the acknowledgement's pipeline where the broker and
        the hub share one Redis (one socket write and one reply fewer per batch), else None."""
        broker, hub = self.runtime.broker, self.runtime.user_events
        if not events or not isinstance(broker, RedisStreamsBroker):
            return None
        if not isinstance(hub, RedisUserEventHub) or hub.redis is not broker.redis:
            return None
        return functools.partial(hub.queue_on, events=events)

    async def _write_parts(
        self, parts: list[list[Settlement]], now: dt.datetime, skipped: set[ClaimKey]
    ) -> list[dict[ClaimKey, int] | BaseException]:
        """Each part's write, concurrently; a part's exception in its place."""
        if len(parts) == 1:  # the usual case: no task (and loop turn) for a gather of one
            try:
                return [await self._write(parts[0], now, skipped)]
            except Exception as exc:
                return [exc]
        return await asyncio.gather(
            *(self._write(part, now, skipped) for part in parts), return_exceptions=True
        )

    async def _publish(self, committed: Iterable[Settlement]) -> None:
        """Tell the owners of these settled (committed) jobs how they ended, in one round trip."""
        events = user_events(committed)
        if events:
            await publish_user_events(self.runtime.user_events, events)

    async def _write(
        self, batch: list[Settlement], now: dt.datetime, skipped: set[ClaimKey] | None = None
    ) -> dict[ClaimKey, int]:
        """The store's ``settle``, with the effects only when some settlement needs them."""
        needs_effects = any(not self._is_plain(s.claim) for s in batch)

        async def write() -> dict[ClaimKey, int]:
            return await self.store.settle(
                batch,
                worker_id=self.worker_id,
                now=now,
                effects=self.effects if needs_effects else None,
                skipped=skipped,
            )

        # A deadlock or serialization failure rolled the whole settle back: write it again
        # rather than count it against the job (a failed success would burn an attempt).
        return await retry_transaction(write, what="settle")

    def _kind(self, claim: Claim) -> JobKind | None:
        return self.runtime.registry.kinds.get(claim.kind)

    def _is_plain(self, claim: Claim) -> bool:
        """No money, no webhook, no hook: nothing to do in the settle's transaction but the rows."""
        kind = self._kind(claim)
        hooked = kind is not None and (kind.on_success is not None or kind.on_failure is not None)
        return claim.price_stars <= 0 and claim.webhook_url is None and not hooked

    def prepare(self, claim: Claim, outcome: Outcome, now: dt.datetime) -> Settlement:
        """The writes that settle ``outcome``: a retry (queued again after a backoff) while attempts
        remain, else its final status; its attempt row's end and its event."""
        status = outcome.kind
        values: dict[str, Any] = {"updated_at": now, "lease_expires_at": None}
        if outcome.usage is not None:
            values["usage"] = add_usage(claim.usage_before, outcome.usage)
        delay: float | None = None
        if status == "retry" and claim.attempt < claim.max_attempts:
            delay = at_least(self._backoff(claim), outcome.retry_after)
            values.update(status=JobStatus.QUEUED, run_at=now + dt.timedelta(seconds=delay), worker_id=None)
            values.update(error_code=outcome.code, last_error=outcome.message)
            status = "retrying"
        else:
            if status == "retry":
                status = JobStatus.DLQ
            values.update(status=status, finished_at=now, dedupe_key=None)
            if status == JobStatus.SUCCEEDED:
                values.update(result=outcome.result, error_code=None, last_error=None)
            else:
                values.update(error_code=outcome.code, last_error=outcome.message)
        success = status == JobStatus.SUCCEEDED
        attempt = {
            "finished_at": now,
            "success": success,
            "error": None if success else outcome.message,
            "error_code": None if success else outcome.code,
            "processing_time_ms": int((time.monotonic() - claim.started) * 1000),
        }
        if outcome.usage is not None:
            attempt["usage"] = outcome.usage
        data: dict[str, Any] = {"status": values["status"], "attempt": claim.attempt}
        if not success:
            data["code"] = outcome.code
        if delay is not None:
            data["delay_seconds"] = round(delay, 4)
        return Settlement(claim, outcome, status, values, delay, attempt, data)

    def _backoff(self, claim: Claim) -> float:
        settings = self.runtime.settings
        kind = self._kind(claim)
        base = kind.retry_base_seconds if kind and kind.retry_base_seconds is not None else None
        cap = kind.retry_cap_seconds if kind and kind.retry_cap_seconds is not None else None
        return backoff_delay(
            claim.attempt,
            base=settings.retry_base_seconds if base is None else base,
            cap=settings.retry_cap_seconds if cap is None else cap,
        )

    async def effects(self, session: AsyncSession, settled: list[Settlement]) -> None:
        """Wallet capture/release, webhooks and the kinds' ``on_success`` / ``on_failure`` hooks of a
        batch, in its transaction."""
        hooked = [s.claim.job_id for s in settled if self._hooked(s)]
        if hooked:
            # One query loads the jobs the hooks receive (session.get then finds them in the session).
            await session.execute(select(Job).where(Job.id.in_(hooked)))
        # Workers lock payers' rows in the same order, so two batches never wait on each other in a cycle.
        for s in sorted(settled, key=lambda s: (s.claim.user_id is not None, str(s.claim.user_id))):
            claim = s.claim
            if s.status != "retrying":
                await settle_hold(
                    session, job_id=claim.job_id, price_stars=claim.price_stars, success=s.success
                )
                schedule_webhook_after_commit(session, self.runtime, claim.job_id, claim.webhook_url)
            hook = self._hook(claim)
            if s.success and hook is not None:
                job = await session.get(Job, claim.job_id)
                assert job is not None
                # A bug in the app (a malformed type) fails this job's success here, not the publish.
                s.events = checked(
                    claim.kind, "on_success", list(await hook(session, job, s.outcome.result or {}) or ())
                )
            elif s.status not in ("retrying", JobStatus.SUCCEEDED):
                s.events = await failure_events(
                    session,
                    self._kind(claim),
                    claim.job_id,
                    status=s.status,
                    code=s.outcome.code,
                    message=s.outcome.message,
                )

    def _hook(self, claim: Claim) -> OnSuccess | None:
        kind = self._kind(claim)
        return None if kind is None else kind.on_success

    def _hooked(self, settled: Settlement) -> bool:
        """Whether a hook will read this settled job (so the batch loads it in one query)."""
        kind = self._kind(settled.claim)
        if kind is None or settled.status == "retrying":
            return False
        return (kind.on_success if settled.success else kind.on_failure) is not None

    def _after_finish(self, settled: Settlement) -> Callable[[], Awaitable[None]]:
        """What happens once the outcome is durable: retry scheduling, DLQ stream, alert, metrics."""
        broker = self.runtime.broker
        claim, status, code = settled.claim, settled.status, settled.outcome.code
        job_id = claim.job_id

        async def after() -> None:
            if status == "retrying":
                JOB_RETRIES.labels(claim.kind).inc()
                await broker.dispatch_later(job_id, time.time() + (settled.delay or 0.0))
                return
            JOBS_FINISHED.labels(claim.kind, status).inc()
            observe_settled(settled)  # the success log line; the DLQ's error report
            if status == JobStatus.DLQ:
                # The alert hook: an error log (Sentry picks errors up when configured).
                log.error("job_dead_lettered", job_id=str(job_id), kind=claim.kind, code=code)
                await broker.dead_letter(job_id, {"kind": claim.kind, "code": code or ""})

        return after


def user_events(committed: Iterable[Settlement]) -> list[NewEvent]:
    """Each terminal job's ``job.*`` event for its owner, then the events its hook returned."""
    events: list[NewEvent] = []
    for settled in committed:
        claim = settled.claim
        outcome = job_outcome_event(
            user_id=claim.user_id,
            job_id=claim.job_id,
            kind=claim.kind,
            status=settled.status,
            code=settled.outcome.code,
        )
        if outcome is not None:
            events.append(outcome)
        events.extend(settled.events)
    return events
