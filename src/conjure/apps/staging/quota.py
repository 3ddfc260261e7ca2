"""The monthly staging quota: a plan's ``staging_images_per_month`` (``SUBSCRIPTION_PLANS``).

Every image staged this calendar month (UTC) that is ready or still on its way counts; a failed
one does not. The check runs in the submit's transaction with the user's row locked (on
SQLite the transaction is ``BEGIN IMMEDIATE``), so two submits at the edge cannot both pass:
the second counts the first one's image. Past the quota a new image is refused with 429
``staging_quota_exhausted`` (``Retry-After``: when the month ends); a replayed request
(its ``Idempotency-Key``, or the same request still in flight) still gets its image back.
A plan without the limit stages without one.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.staging.models import ImageStatus, StagedImage
from conjure.billing.plans import plan_limits_for
from conjure.errors import ConjureError
from conjure.settings import Settings
from conjure.wallet.ledger import lock_user

LIMIT = "staging_images_per_month"


class StagingQuotaExhausted(ConjureError):
    code, status = "staging_quota_exhausted", 429


@dataclass(frozen=True)
class Quota:
    """This month's quota of one user: the plan's limit (None: unlimited) and what is used."""

    limit: int | None
    used: int
    resets_at: dt.datetime

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit

    def refusal(self, now: dt.datetime) -> StagingQuotaExhausted:
        retry_after = max(math.ceil((self.resets_at - now).total_seconds()), 1)
        return StagingQuotaExhausted(
            f"Your plan stages {self.limit} photos a month and they are used up; "
            "upgrade your plan or wait for next month.",
            headers={"Retry-After": str(retry_after)},
            extra={"limit": self.limit, "used": self.used, "resets_at": self.resets_at.isoformat()},
        )


def month_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The calendar month (UTC) ``now`` is in: its first instant and the next month's."""
    start = now.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return start, following


async def images_since(session: AsyncSession, user_id: uuid.UUID, start: dt.datetime) -> int:
    """The user's images created since ``start`` that are ready or on their way."""
    count = await session.scalar(
        select(func.count()).where(
            StagedImage.user_id == user_id,
            StagedImage.created_at >= start,
            StagedImage.status != ImageStatus.FAILED,
        )
    )
    return int(count or 0)


async def month_quota(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID, now: dt.datetime, *, lock: bool = False
) -> Quota:
    """The user's quota this month; ``lock`` holds their row until the transaction ends, so the
    count stays true for a submit that adds an image."""
    if lock:
        await lock_user(session, user_id)
    plan = await plan_limits_for(session, user_id, settings)
    raw = plan.get(LIMIT)
    limit = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    start, resets_at = month_bounds(now)
    used = await images_since(session, user_id, start) if limit is not None else 0
    return Quota(limit, used, resets_at)
