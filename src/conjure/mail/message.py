"""An email as the platform sends it: the message a ``mail.send`` job carries, and its MIME form."""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import Any

from conjure.db import utcnow

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
