"""Queueing an email: a ``mail.send`` job in the caller's transaction, delivered once it commits.

The job survives a mail server outage (retried with backoff, then parked in the DLQ, re-drivable),
so the request that wanted the email answers at once. Its payload holds the whole message (a reset
link, say): it is emptied when the message is delivered (``conjure.mail.tasks``), and the engine
never logs payloads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from conjure.db import utcnow
from conjure.jobs.service import submit_job

if TYPE_CHECKING:
    from conjure.runtime import Runtime

SEND_KIND = "mail.send"


@dataclass(frozen=True)
class Email:
    """A plain-text email to one person."""

    to: str
    subject: str
    text: str

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Email:
        return cls(to=str(payload["to"]), subject=str(payload["subject"]), text=str(payload["text"]))


async def queue_email(session: AsyncSession, runtime: Runtime, email: Email) -> None:
    """Queue ``email`` with the caller's transaction: sent after commit, never if it rolls back."""
    # No user on the job: nobody's job list or event stream shows it (its payload is the message).
    await submit_job(session, runtime, user_id=None, kind=SEND_KIND, payload=asdict(email))


def compose(email: Email, *, sender: str, message_id: str) -> EmailMessage:
    """The MIME message for ``email`` from ``sender`` (MAIL_FROM); ``message_id`` stays the same
    on every try, so a receiving server can tell a repeated delivery apart."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = f"<{message_id}@{_domain(sender)}>"
    message.set_content(email.text)  # UTF-8 where needed (Thai text)
    return message


def _domain(sender: str) -> str:
    addresses = getaddresses([sender])
    address = addresses[0][1] if addresses else ""
    try:
        return Address(addr_spec=address).domain or "localhost"
    except (ValueError, IndexError):
        return "localhost"
