"""An answer's text on its way out: ``message.delta`` events on the job's and the user's stream.

Chunks are gathered for ``ASSISTANT_STREAM_FLUSH_MS`` (the first goes at once, so the first
token is not delayed) and sent as one delta, numbered from 0, so a client orders and dedupes by
``index``. On the job's stream a delta is a progress step (``step: "message.delta"``, stored, so
``Last-Event-ID`` replays it); on the user's stream it is a ``message.delta`` event (retained
for replay too). Reporting a step also tells the answer whether it was canceled.
"""

from __future__ import annotations

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
    """Sends an answer's chunks as numbered deltas, batched by time."""

    def __init__(
        self, ctx: JobContext, *, conversation_id: uuid.UUID, message_id: uuid.UUID, flush_ms: int
    ) -> None:
        self.ctx = ctx
        self.ids = {"conversation_id": str(conversation_id), "message_id": str(message_id)}
        self.flush_seconds = flush_ms / 1000
        self.pending: list[str] = []
        self.parts: list[str] = []  # everything sent, for the whole text
        self.index = 0
        self.sent_at: float | None = None
        self.first_at: float | None = None
        self.started = time.perf_counter()

    async def add(self, chunk: str) -> None:
        if not chunk:
            return
        self.pending.append(chunk)
        now = time.perf_counter()
        if self.sent_at is None or now - self.sent_at >= self.flush_seconds:
            await self.flush()

    async def flush(self) -> None:
        if not self.pending:
            return
        delta, self.pending = "".join(self.pending), []
        self.parts.append(delta)
        data: dict[str, Any] = {**self.ids, "index": self.index, "delta": delta}
        self.index += 1
        self.sent_at = time.perf_counter()
        if self.first_at is None:
            self.first_at = self.sent_at
        if self.ctx.user_id is not None:
            await publish_user_event(self.ctx.user_events, self.ctx.user_id, MESSAGE_DELTA, data)
        await self.ctx.progress(DELTA_STEP, data=data)

    @property
    def text(self) -> str:
        return "".join(self.parts) + "".join(self.pending)

    @property
    def first_delta_ms(self) -> float | None:
        return None if self.first_at is None else (self.first_at - self.started) * 1000
