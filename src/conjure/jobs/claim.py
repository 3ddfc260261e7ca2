"""Taking jobs: a batch of deliveries becomes the claims this worker owns, and keeps them.

The claim is the job store's conditional update (``queued`` and due, or ``processing`` with an
expired lease → ``processing`` with ``attempts + 1`` and this worker's id); every later write
is guarded by it. Heartbeats extend the lease of the claims still held.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import select, update

from conjure.db import utcnow
from conjure.dbfaults import retry_transaction
from conjure.jobs.attempt import Claim, ClaimedRow
from conjure.jobs.events import event_message
from conjure.jobs.models import JOBS, JobStatus
from conjure.jobs.store.pick import store_for
from conjure.jobs.types import Delivery

if TYPE_CHECKING:
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.jobs.claim")


async def claim_deliveries(
    runtime: Runtime, worker_id: str, deliveries: Sequence[Delivery]
) -> tuple[list[Claim], list[str]]:
    """Claim a batch in one transaction and publish its ``processing`` events; returns the
    claims and the refs to just acknowledge."""
    claims, skipped, seqs = await take(runtime, worker_id, deliveries)
    if claims:
        await publish_claims(runtime, claims, seqs)
    return claims, skipped


async def take(
    runtime: Runtime, worker_id: str, deliveries: Sequence[Delivery]
) -> tuple[list[Claim], list[str], dict[uuid.UUID, int]]:
    """Claim a batch in one transaction: the claims, the refs to just acknowledge, and each
    claimed job's ``processing`` event seq (for :func:`publish_claims`, which the runner sends
    while the handlers already run: the event is stored, the bus only wakes listeners)."""
    first: dict[uuid.UUID, Delivery] = {}
    for delivery in deliveries:
        first.setdefault(delivery.job_id, delivery)
    now = utcnow()
    lease = now + dt.timedelta(seconds=runtime.settings.visibility_timeout_seconds)
    store = store_for(runtime.db)

    async def claim() -> list[ClaimedRow]:
        return await store.claim(list(first), worker_id=worker_id, now=now, lease=lease)

    # A deadlock (40P01), serialization failure or locked SQLite wrote nothing: claim again.
    rows = await retry_transaction(claim, what="claim")
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
            usage_before=row.usage,
        )
        for row in rows
    ]
    claimed = {claim.delivery.ref for claim in claims}
    skipped = [d.ref for d in deliveries if d.ref not in claimed]
    return claims, skipped, {row.id: row.event_seq for row in rows}


def processing_events(claims: list[Claim], seqs: dict[uuid.UUID, int]) -> None:
    """Give each claim its ``processing`` event (stored by the claim), to be published."""
    for claim in claims:
        claim.processing = event_message(
            claim.job_id,
            seqs[claim.job_id],
            "processing",
            {"status": "processing", "attempt": claim.attempt},
        )


async def publish_claims(runtime: Runtime, claims: list[Claim], seqs: dict[uuid.UUID, int]) -> None:
    """The ``processing`` events, once the claim is committed (best effort: listeners replay)."""
    processing_events(claims, seqs)
    await publish_processing(runtime, claims)


async def publish_processing(runtime: Runtime, claims: list[Claim]) -> None:
    """Send the ``processing`` events of these claims not sent yet (best effort: listeners replay)."""
    messages = []
    for claim in claims:
        if claim.processing is not None:
            messages.append((claim.job_id, claim.processing))
            claim.processing = None
    if not messages:
        return
    try:
        await runtime.broker.events.publish_many(messages)
    except Exception as exc:
        log.warning("claim_publish_failed", error_type=type(exc).__name__)


async def heartbeat(runtime: Runtime, worker_id: str, claims: Sequence[Claim]) -> None:
    """Extend the lease of running jobs (table and broker) so they are not reclaimed."""
    if not claims:
        return
    now = utcnow()
    lease = now + dt.timedelta(seconds=runtime.settings.visibility_timeout_seconds)
    mine = (
        select(JOBS.c.id)
        .where(
            JOBS.c.id.in_([c.job_id for c in claims]),
            JOBS.c.status == JobStatus.PROCESSING,
            JOBS.c.worker_id == worker_id,
        )
        # Rows a settle or progress batch holds are being written anyway; waiting for them
        # could deadlock against that batch's multi-row update. (SQLite has one writer: no-op.)
        .with_for_update(skip_locked=True)
    )

    async def extend() -> set[uuid.UUID]:
        async with runtime.db.session() as session:
            rows = await session.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(mine))
                .values(heartbeat_at=now, lease_expires_at=lease)
                .returning(JOBS.c.id)
            )
            return set(rows.scalars())

    held = await retry_transaction(extend, what="heartbeat")  # a lost lease would cost an attempt
    # Only entries of jobs still ours: touching takes the entry over (XCLAIM), and a lost
    # claim's entry now belongs to the worker that rescued the job.
    refs = [c.delivery.ref for c in claims if c.job_id in held]
    if refs:
        await runtime.broker.touch(worker_id, refs)
