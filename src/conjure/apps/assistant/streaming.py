"""An answer's text on its way out: ``message.delta`` events on the user's stream, and the same
text stored in coarser steps on the job's stream.

User's stream (what the page follows): the first chunk goes at once (the first token is not
delayed), then chunks are gathered and sent as one ``message.delta``, numbered from 0, so a client
orders and dedupes by ``index``; the hub retains them for ``Last-Event-ID`` replay. Nothing is
written to the database for them. The gap between deltas starts at ``ASSISTANT_STREAM_FLUSH_MS``
and doubles with each delta up to ``ASSISTANT_STREAM_FLUSH_MAX_MS``: a person reading needs the
first words at once and then a few updates a second, not twenty; every delta is a publish (a
Redis round trip on PostgreSQL + Redis) and a fan-out to the person's streams, and 50 answers
at once share each process's event loop. An answer of 36 tokens at 25 ms a token goes out in
7 deltas instead of 18.

Job's stream (``GET /api/v1/jobs/{id}/events``, replayed from the ``job_events`` table): the text
is stored as ``message.delta`` progress steps every ``ASSISTANT_JOB_STREAM_FLUSH_MS``, each with
the text since the previous step, numbered on their own. A stored step is a database write that
serializes with every other write on SQLite; one per 50 ms batch was most of an answer's writes.
The step is written in the background (one at a time, the text coalesced meanwhile), so a slow
write never holds back the next delta; its answer (a cancel was asked, or the claim was lost) is
raised at the next chunk. :meth:`DeltaWriter.finish` stores the rest before ``message.completed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import TYPE_CHECKING, Any

from conjure.events.schemas import MESSAGE_DELTA
from conjure.events.service import publish_user_event

if TYPE_CHECKING:
    from conjure.jobs.registry import JobContext

DELTA_STEP = "message.delta"
COMPLETED_STEP = "message.completed"


class DeltaWriter:
    """Sends an answer's chunks as numbered deltas, batched by time; stores them on the job's stream."""

    def __init__(
        self,
        ctx: JobContext,
        *,
        conversation_id: uuid.UUID,
        message_id: uuid.UUID,
        flush_ms: int,
        store_ms: int = 500,
        flush_max_ms: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.ids = {"conversation_id": str(conversation_id), "message_id": str(message_id)}
        # The user's stream names the job too: the page stops an answer by canceling its job,
        # whichever tab sent the message.
        self.user_ids = {**self.ids, "job_id": str(ctx.job_id)}
        self.flush_seconds = flush_ms / 1000  # the gap after the first delta
        self.flush_max_seconds = max(flush_ms, flush_ms if flush_max_ms is None else flush_max_ms) / 1000
        self.gap = self.flush_seconds  # the gap before the next delta: doubles, up to the max
        self.store_seconds = store_ms / 1000
        self.pending: list[str] = []
        self.parts: list[str] = []  # everything sent, for the whole text
        self.index = 0
        self.sent_at: float | None = None
        self.first_at: float | None = None
        self.started = time.perf_counter()
        # The job's stream: text not stored yet, the steps stored, the write under way.
        self.unstored: list[str] = []
        self.steps = 0
        self.stored_at: float | None = None
        self.storing: asyncio.Task[None] | None = None

    async def add(self, chunk: str) -> None:
        if not chunk:
            return
        self._raise_stored_failure()
        self.pending.append(chunk)
        now = time.perf_counter()
        if self.sent_at is None or now - self.sent_at >= self.gap:
            await self.flush()

    async def flush(self) -> None:
        """Send what is pending as one delta on the user's stream (and queue it for the job's)."""
        if not self.pending:
            return
        delta, self.pending = "".join(self.pending), []
        self.parts.append(delta)
        data: dict[str, Any] = {**self.user_ids, "index": self.index, "delta": delta}
        self.index += 1
        self.sent_at = time.perf_counter()
        if self.first_at is None:
            self.first_at = self.stored_at = self.sent_at
        else:  # the gap after the first delta is flush_ms; each later one doubles
            self.gap = min(self.gap * 2, self.flush_max_seconds)
        if self.ctx.user_id is not None:
            await publish_user_event(self.ctx.user_events, self.ctx.user_id, MESSAGE_DELTA, data)
        self.unstored.append(delta)
        idle = self.storing is None or self.storing.done()
        if idle and self.stored_at is not None and self.sent_at - self.stored_at >= self.store_seconds:
            self._raise_stored_failure()
            self.storing = asyncio.create_task(self._store())

    async def finish(self) -> None:
        """Send the rest, then store every delta not stored yet (before ``message.completed``)."""
        await self.flush()
        if self.storing is not None:
            await self.storing  # its failure (a cancel, a lost claim) is the answer's
        await self._store()

    def abandon(self) -> None:
        """The answer failed: stop a step being stored (the attempt's outcome says what happened)."""
        if self.storing is not None and not self.storing.done():
            self.storing.cancel()

    async def _store(self) -> None:
        if not self.unstored:
            return
        delta, self.unstored = "".join(self.unstored), []
        self.stored_at = time.perf_counter()
        step = self.steps
        self.steps += 1
        await self.ctx.progress(DELTA_STEP, data={**self.ids, "index": step, "delta": delta})

    def _raise_stored_failure(self) -> None:
        """Raise what the last background step raised (JobCanceled when a cancel was asked)."""
        if self.storing is not None and self.storing.done():
            storing, self.storing = self.storing, None
            with contextlib.suppress(asyncio.CancelledError):
                storing.result()

    @property
    def text(self) -> str:
        return "".join(self.parts) + "".join(self.pending)

    @property
    def first_delta_ms(self) -> float | None:
        return None if self.first_at is None else (self.first_at - self.started) * 1000
