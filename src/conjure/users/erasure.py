"""Account deletion (``DELETE /api/v1/me``): erase what every domain and app keeps about a person.

One transaction anonymises the user row and runs every eraser: the platform's
(:data:`PLATFORM_ERASERS`) and each app's ``AppSpec.erase_user``. Erasers return the storage
keys of the objects that held the person's data; those are deleted after commit (a rollback
keeps them). What accounting needs stays, without the person: the ledger (append-only, its
rows name only the user id), payments, and jobs' kind, price, status and times.

Access stops at once: the identities are deleted, refresh tokens and API keys revoked, and
``users.deleted_at`` makes every access token of the user fail its next check
(:func:`conjure.users.service.user_exists`): the API process that deleted it forgets it at once,
and every other one when the deletion is announced once committed (:mod:`conjure.announcements`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.announcements import USERS_FORGOTTEN
from conjure.auth.identities import close_account
from conjure.billing.service import cancel_subscriptions_for_deleted_account
from conjure.db import after_commit
from conjure.jobs.models import ATTEMPTS, EVENTS, JOBS, Job, JobStatus
from conjure.jobs.service import end_queued_job
from conjure.kit.spec import UserEraser
from conjure.settings import Settings
from conjure.users.models import User
from conjure.wallet.service import lock_user

if TYPE_CHECKING:
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.users.erasure")


async def erase_jobs(session: AsyncSession, user_id: uuid.UUID, settings: Settings) -> None:
    """Jobs keep their accounting (kind, status, price, times) and lose what was asked and made."""
    job_ids = select(JOBS.c.id).where(JOBS.c.user_id == user_id).scalar_subquery()
    await session.execute(
        update(JOBS)
        .where(JOBS.c.user_id == user_id)
        .values(payload={}, result=None, last_error=None, progress=None, webhook_url=None)
    )
    # Progress events and attempt errors can quote the request or the answer.
    await session.execute(delete(EVENTS).where(EVENTS.c.job_id.in_(job_ids)))
    await session.execute(update(ATTEMPTS).where(ATTEMPTS.c.job_id.in_(job_ids)).values(error=None))


# Every platform domain that keeps personal data adds its eraser here (apps use AppSpec.erase_user).
PLATFORM_ERASERS: list[UserEraser] = [
    erase_jobs,
    # Cancels the person's subscriptions at Stripe at once (no further invoices or grants).
    cancel_subscriptions_for_deleted_account,
]


async def _stop_jobs(session: AsyncSession, runtime: Runtime, user_id: uuid.UUID) -> None:
    """Queued jobs, and jobs waiting on a callback, end as canceled (their holds released);
    running ones are asked to stop."""
    waiting = (JobStatus.QUEUED, JobStatus.WAITING)
    queued = (
        await session.execute(select(Job).where(Job.user_id == user_id, Job.status.in_(waiting)))
    ).scalars()
    for job in list(queued):
        await end_queued_job(
            session,
            runtime,
            job,
            status=JobStatus.CANCELED,
            code="canceled",
            message="The account was deleted.",
        )
    await session.execute(
        update(JOBS)
        .where(JOBS.c.user_id == user_id, JOBS.c.status == JobStatus.PROCESSING)
        .values(cancel_requested=True)
    )


async def delete_account(
    session: AsyncSession,
    runtime: Runtime,
    user: User,
    *,
    on_committed: Callable[[], None] | None = None,
) -> list[str]:
    """Delete ``user``'s account: erase, anonymise, revoke; returns the object keys deleted after commit.

    ``on_committed`` runs after commit too (the router forgets the user in its caches).
    """
    await lock_user(session, user.id)
    await _stop_jobs(session, runtime, user.id)
    erasers = [*PLATFORM_ERASERS, *(app.erase_user for app in runtime.apps if app.erase_user)]
    keys: list[str] = []
    for eraser in erasers:
        keys.extend(await eraser(session, user.id, runtime.settings) or ())
    await close_account(session, user)
    await session.flush()
    storage = runtime.storage

    async def remove_objects() -> None:
        for key in keys:
            try:
                await storage.delete(key)
            except Exception:
                # The rows are gone; an object left behind is logged for the operator, not retried.
                log.exception("erase_object_failed", user_id=str(user.id))

    after_commit(session, remove_objects)
    runtime.announcer.after_commit(session, USERS_FORGOTTEN, user.id)
    if on_committed is not None:
        callback = on_committed

        async def notify() -> None:
            callback()

        after_commit(session, notify)
    log.info("account_deleted", user_id=str(user.id), objects=len(keys))
    return keys
