"""Small value types shared by the brokers, the event buses and the worker."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """One hand-over of a job id to a worker; ``ref`` is the broker's handle (a stream entry id)."""

    job_id: uuid.UUID
    ref: str


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
