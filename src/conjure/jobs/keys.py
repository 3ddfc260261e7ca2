"""Every Redis key, stream, group and channel name the job engine uses, in one place."""

from __future__ import annotations

import uuid

STREAM = "jobs:stream"  # ready jobs, one entry per dispatch ({"job_id": ...})
GROUP = "jobs:group"  # the one consumer group all workers share
DELAYED = "jobs:delayed"  # sorted set: job id -> unix time it is due (retries)
DLQ = "jobs:dlq"  # dead-lettered jobs, for operators (the jobs table stays the record)
WORKERS = "jobs:workers"  # hash: worker id -> last heartbeat (unix seconds), for stats
# Fair dispatch (conjure.jobs.lanes): lanes "jobs:lane:<class>:<payer>" and rings "jobs:ring:<class>"
# are named from LANES; the rest are fixed.
LANES = "jobs:"
INFLIGHT = "jobs:inflight"  # hash: payer -> its entries on the stream (ready or pending)
WAITING = "jobs:waiting"  # counter: jobs waiting in lanes
PARKED = "jobs:parked"  # set: "<class>|<payer>" at their in-flight bound with jobs waiting


def events_channel(job_id: uuid.UUID | str) -> str:
    """Pub/sub channel carrying one job's progress events to SSE listeners in any process."""
    return f"jobs:events:{job_id}"
