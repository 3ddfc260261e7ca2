"""Dispatches of submits that commit in the same event-loop turn share one broker call.

Under load many submits' statements answer together (one ``epoll`` wake-up delivers several
PostgreSQL replies); each used to send its own XADD (or lane script) to Redis, and on a small VM a
socket write is a good part of a request's CPU. :func:`dispatch_soon` queues the job and, at the
end of the current loop turn, one :meth:`~conjure.jobs.broker.Broker.dispatch` call sends every job
queued meanwhile. Each caller still returns only once its job was handed to the broker (the 202 is
sent after the dispatch, as before), and a lone submit waits one loop turn, not a timer.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conjure.jobs.broker import Broker
    from conjure.jobs.lanes import Lane


class _Batch:
    """The jobs queued for one broker in the current loop turn, and who waits for them."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.job_ids: list[uuid.UUID] = []
        self.lanes: list[Lane | None] = []
        self.sent: asyncio.Future[None] | None = None

    def add(self, job_id: uuid.UUID, lane: Lane | None) -> asyncio.Future[None]:
        if self.sent is None:
            loop = asyncio.get_running_loop()
            self.sent = loop.create_future()
            # After the callbacks already due this turn: the submits woken with this one join it.
            loop.call_soon(self._flush)
        self.job_ids.append(job_id)
        self.lanes.append(lane)
        return self.sent

    def _flush(self) -> None:
        job_ids, lanes, sent = self.job_ids, self.lanes, self.sent
        self.job_ids, self.lanes, self.sent = [], [], None
        assert sent is not None
        task = asyncio.get_running_loop().create_task(self._send(job_ids, lanes, sent))
        _SENDING.add(task)
        task.add_done_callback(_SENDING.discard)

    async def _send(
        self, job_ids: list[uuid.UUID], lanes: list[Lane | None], sent: asyncio.Future[None]
    ) -> None:
        try:
            await self.broker.dispatch(job_ids, lanes)
        except Exception as exc:
            if not sent.done():
                sent.set_exception(exc)
        else:
            if not sent.done():
                sent.set_result(None)


_BATCHES: weakref.WeakKeyDictionary[Broker, _Batch] = weakref.WeakKeyDictionary()
_SENDING: set[asyncio.Task[None]] = set()  # strong references while a send is under way


async def dispatch_soon(broker: Broker, job_id: uuid.UUID, lane: Lane | None) -> None:
    """Dispatch one job together with the others submitted in this loop turn; returns once sent
    (raises what the broker raised, for every job of the call)."""
    batch = _BATCHES.get(broker)
    if batch is None:
        batch = _BATCHES[broker] = _Batch(broker)
    # Shielded: a caller that goes away does not cancel the others' dispatch.
    await asyncio.shield(batch.add(job_id, lane))
