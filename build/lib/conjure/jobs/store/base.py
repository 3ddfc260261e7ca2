"""The job store protocol: one method per state transition of a job, each backend's code side by side.

::

    insert_queued ──► queued ──claim──► processing ──record_progress──► processing
                                            └──settle──► queued (retry) | succeeded | failed | dlq | canceled

Every write after ``claim`` is guarded by the claim (``processing``, same attempt, same worker),
so a duplicate delivery or a zombie worker writes nothing. Money (the hold placed on submit,
its capture or release on settle) follows the wallet's rules: the stores compose or call
``conjure.wallet``, never spell them out. ``tests/jobs/test_store_contract.py`` runs every
transition against both stores.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from conjure.jobs.attempt import ClaimedRow, ClaimKey, ProgressStep, Settlement
    from conjure.jobs.models import JobSnapshot

# Runs in a settle's transaction with the settlements whose claim held: wallet capture/release,
# webhooks, the kinds' ``on_success`` hooks (``conjure.jobs.settle``).
SettleEffects = Callable[["AsyncSession", list["Settlement"]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Submitted:
    """What :meth:`JobStore.insert_queued` did.

    ``available``: the payer's available stars before the hold (None: no such user);
    ``inserted``: False when a duplicate (dedupe key or Idempotency-Key) was there first or
    the price was not available, and nothing was written.
    """

    available: int | None
    inserted: bool


class JobStore(Protocol):
    """The job table's transitions on one database backend."""

    # Whether a batch of settles without money or hooks is written as one autocommit statement
    # of its own (PostgreSQL), next to the batch that needs a transaction; else all go together.
    separate_plain_settles: bool

    async def insert_queued(self, values: dict[str, Any]) -> Submitted:
        """Accept a user's job in a transaction of its own: lock the payer, insert the job (every
        column in ``values``) and its ``queued`` event only if the price is available, hold it."""

    async def insert_queued_in(self, session: AsyncSession, values: dict[str, Any]) -> bool:
        """The same in the caller's transaction; False on a duplicate, InsufficientStars when short."""

    async def view(self, job_id: uuid.UUID, user_id: uuid.UUID) -> JobSnapshot | None:
        """The job as its owner polls it; None when it is not theirs (or does not exist)."""

    async def claim(
        self, job_ids: Sequence[uuid.UUID], *, worker_id: str, now: dt.datetime, lease: dt.datetime
    ) -> list[ClaimedRow]:
        """Take the claimable ones of ``job_ids`` (queued and due, or processing with an expired
        lease; never past their start deadline): ``attempts + 1``, this worker, a new attempt row,
        the lost attempt closed, a ``processing`` event. One transaction."""

    async def record_progress(
        self, steps: Sequence[ProgressStep], *, worker_id: str, now: dt.datetime
    ) -> dict[ClaimKey, tuple[int, bool]]:
        """Store steps of distinct jobs under their claims: (event seq, cancel requested) by claim
        key, for the claims still held. One transaction."""

    async def settle(
        self,
        batch: Sequence[Settlement],
        *,
        worker_id: str,
        now: dt.datetime,
        effects: SettleEffects | None,
        skipped: set[ClaimKey] | None = None,
    ) -> dict[ClaimKey, int]:
        """Write the settlements whose claim still holds (job row, attempt row, event) and run
        ``effects`` on them in the same transaction: the new event seq by claim key.

        With ``skipped``, a settlement whose payer's row another transaction holds right now is
        left out and its key added there (its caller settles it on its own) instead of waited for."""
