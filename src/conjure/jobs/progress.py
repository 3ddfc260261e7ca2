"""Progress steps of one worker's running jobs, written together (group commit).

A step costs its job one awaited write as before (committed, then published, then
``record`` returns), but steps of concurrent jobs share the statement, the commit and
the Redis round trip (the job store's ``record_progress``: one ``UPDATE … FROM unnest(…)``
+ event insert on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

import structlog

from conjure.db import utcnow
from conjure.dbfaults import retry_transaction
from conjure.jobs.attempt import Claim, ClaimKey, LostClaim, ProgressStep, progress_json
from conjure.jobs.events import event_message
from conjure.jobs.store.pick import store_for
from conjure.jobs.types import GroupCommit

if TYPE_CHECKING:
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.jobs.progress")


class ProgressWriter:
    """Records the progress steps of all running jobs of one worker."""

    def __init__(self, runtime: Runtime, worker_id: str, limit: int = 500) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        self.store = store_for(runtime.db)
        self._batches: GroupCommit[ProgressStep, bool] = GroupCommit(self._write, limit)

    async def record(self, claim: Claim, progress: dict[str, Any]) -> bool:
        """Write one step under the claim; True when a cancel was requested, LostClaim when not ours."""
        data = {"status": "processing", **progress}
        # Checked here, so a step that cannot be stored fails its own job, not the batch.
        step = ProgressStep(claim, progress, data, (progress_json(progress), progress_json(data)))
        return await self._batches.submit(step)

    async def drain(self) -> None:
        await self._batches.drain()

    async def _write(self, steps: list[ProgressStep]) -> list[bool | BaseException]:
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
        events: list[tuple[uuid.UUID, dict[str, Any]]] = []
        for i, (seq, _) in sorted(written.items()):
            claim = steps[i].claim
            if claim.processing is not None:  # not sent yet (runner.ANNOUNCE_AFTER): it goes first
                events.append((claim.job_id, claim.processing))
                claim.processing = None
            events.append((claim.job_id, event_message(claim.job_id, seq, "progress", steps[i].data)))
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
        self, steps: list[ProgressStep], batch: list[int], now: dt.datetime
    ) -> dict[int, tuple[int, bool] | BaseException]:
        """Write the steps ``batch`` indexes together; if that fails, each on its own, so that a
        step the database rejects fails only its own caller. Lost claims are left out."""

        async def write() -> dict[ClaimKey, tuple[int, bool]]:
            return await self.store.record_progress(
                [steps[index] for index in batch], worker_id=self.worker_id, now=now
            )

        try:
            # A deadlock, serialization failure or locked SQLite wrote nothing: write it again,
            # rather than fail the step (and with it the job's attempt).
            rows = await retry_transaction(write, what="progress")
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
