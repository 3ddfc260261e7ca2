"""Queueing an email: a ``mail.send`` job in the caller's transaction, delivered once it commits.

The job survives a mail server outage (retried with backoff, then parked in the DLQ, re-drivable),
so the request that wanted the email answers at once. Its payload holds the whole message (a reset
link, say): it is emptied when the message is delivered (``conjure.mail.tasks``), and the engine
never logs payloads.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from conjure.jobs.service import submit_job
from conjure.mail.message import SEND_KIND, Email

if TYPE_CHECKING:
    from conjure.runtime import Runtime

__all__ = ["SEND_KIND", "Email", "queue_email"]


async def queue_email(session: AsyncSession, runtime: Runtime, email: Email) -> None:
    """Queue ``email`` with the caller's transaction: sent after commit, never if it rolls back."""
    # No user on the job: nobody's job list or event stream shows it (its payload is the message).
    await submit_job(session, runtime, user_id=None, kind=SEND_KIND, payload=asdict(email))
