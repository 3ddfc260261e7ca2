"""Small value types shared by the brokers, the event buses and the worker, and its group commit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class Delivery:
    """One hand-over of a job id to a worker; ``ref`` is the broker's handle (a stream entry id)."""

    job_id: uuid.UUID
    ref: str
    lane: str | None = None  # the payer it was fair-queued as (conjure.jobs.lanes), if any


@dataclass(frozen=True, slots=True)
class Tick:
    """What one scheduler tick of a broker did, and when the next one has work for sure."""

    moved: int  # retries moved back to the queue
    next_due: float | None  # unix time of the earliest retry still delayed (None: no retry waits)
    waiting: bool  # jobs wait in lanes: a promotion (room opening) may be due at any tick

    def busy(self, limit: int) -> bool:
        """Whether the next tick should come at the usual pace (a backlog to move or promote)."""
        return self.waiting or self.moved >= limit


@dataclass(frozen=True)
class BrokerStats:
    """What the broker holds right now (the jobs table stays the record)."""

    ready: int  # dispatched, not yet read by a worker
    pending: int  # read by a worker, not acknowledged
    delayed: int  # retries waiting for their time
    dead_letters: int  # entries in the DLQ stream

    def as_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "pending": self.pending,
            "delayed": self.delayed,
            "dead_letters": self.dead_letters,
        }


class GroupCommit(Generic[Item, Result]):
    """Write what concurrent jobs submit together: one flush at a time, each taking all that waits.

    ``submit`` returns once the item's flush is done (so a caller sees its write committed,
    exactly as if it had written alone); items that arrive while a flush runs go into the next
    one. Under load batches grow by themselves, and an idle worker flushes a lone item at once.
    ``flush`` returns one result per item, or an exception instance to raise in that caller;
    if it raises, every caller of that batch gets the exception. The flushing task exists
    only while there is work, so there is nothing to start or stop (``drain`` waits for it).
    """

    def __init__(
        self, flush: Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]], limit: int = 500
    ) -> None:
        self._flush = flush
        self._limit = limit
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def drain(self) -> None:
        """Wait until everything submitted so far is flushed."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._limit], self._waiting[self._limit :]
            try:
                results = await self._flush([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:  # cancelled: so are this batch and whatever still waits
                for _, future in batch + self._waiting:
                    future.cancel()
                self._waiting = []
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # its caller was cancelled; the write stands
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)


def stop_if_cancelled() -> None:
    """Raise ``CancelledError`` when the running task was asked to stop but carries on.

    redis-py (8.1, on Python 3.11) can swallow a cancellation that lands while a command is
    starting; a loop that then goes on never ends, and whoever awaits the cancelled task (a
    worker's stop, a test's teardown cancelling every task) waits forever. The engine's loops
    call this after each step, so a cancellation is honoured even when a library lost it.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
