"""``mail.send``: deliver one queued email; a transient SMTP failure is retried, a 5xx is final."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.events.types import NewEvent
from conjure.jobs.models import Job
from conjure.jobs.registry import JobContext, JobKind, PermanentJobError, RetryableJobError
from conjure.mail.message import SEND_KIND, Email, compose
from conjure.mail.transport import DeliveryFailed, deliver

# A mail server outage outlasts the engine's usual five tries; with the backoff's 60 s cap ten
# tries span several minutes. After them the job waits in the DLQ (re-drive sends it).
MAX_ATTEMPTS = 10


async def send(ctx: JobContext) -> dict[str, Any]:
    """Deliver the job's email (the result names the transport, never the message)."""
    try:
        email = Email.from_payload(dict(ctx.payload))
    except KeyError:
        raise PermanentJobError("bad_payload", "The job holds no complete email.") from None
    message = compose(email, sender=ctx.settings.mail_from, message_id=str(ctx.job_id))
    try:
        transport = await deliver(ctx.settings, message)
    except DeliveryFailed as exc:
        if exc.transient:
            raise RetryableJobError(exc.code, str(exc)) from None
        raise PermanentJobError(exc.code, str(exc)) from None
    return {"transport": transport}


async def _forget_message(session: AsyncSession, job: Job, result: dict[str, Any]) -> list[NewEvent]:
    # Delivered: the message (a reset link, say) need not sit in the jobs table any longer.
    await session.execute(update(Job).where(Job.id == job.id).values(payload={}))
    return []


def send_kind() -> JobKind:
    """The platform's ``mail.send`` job kind."""
    return JobKind(
        name=SEND_KIND,
        handler=send,
        max_attempts=MAX_ATTEMPTS,
        on_success=_forget_message,
        description="Deliver one email over SMTP (MAIL_URL), or write it to VAR_DIR/outbox.",
    )
