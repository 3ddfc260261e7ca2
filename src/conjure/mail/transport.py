"""Delivering one composed email: over SMTP when ``MAIL_URL`` is set, else as an ``.eml`` file.

SMTP runs the stdlib :mod:`smtplib` in a thread (no new dependency; one message per job needs no
connection pool). A failure says whether it is worth another try: a connection that could not be
made or broke, a timeout or a 4xx reply is transient; a 5xx reply is the server's final word.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

import structlog

from conjure.db import utcnow
from conjure.settings import Settings

log = structlog.get_logger("conjure.mail")
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class DeliveryFailed(Exception):
    """The message was not delivered; ``transient``: another try may succeed."""

    def __init__(self, code: str, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


def outbox_dir(settings: Settings) -> Path:
    """Where emails go when no mail server is configured (the embedded default)."""
    return settings.var_dir / "outbox"


def warn_if_unconfigured(settings: Settings) -> None:
    """At start-up in production: say that emails (password resets) reach nobody without MAIL_URL.

    A warning, not a refusal: mail is optional like Stripe or Telegram (a deployment whose people
    sign in with Clerk or Telegram sends none); only what every request needs (JWT_SECRET) is required.
    """
    if settings.is_production and settings.mail_url is None:
        log.warning("mail_not_configured", outbox=str(outbox_dir(settings)))


async def deliver(settings: Settings, message: EmailMessage) -> str:
    """Send ``message`` (or write it to the outbox); returns how: ``smtp`` or ``outbox``."""
    if settings.mail_url is None:
        path = await asyncio.to_thread(_write_outbox, outbox_dir(settings), message)
        # Where it is, never what it says: the body may hold a password reset link.
        log.info("mail_written_to_outbox", path=str(path))
        return "outbox"
    url = settings.mail_url.get_secret_value()
    try:
        await asyncio.to_thread(_send_smtp, url, message, settings.mail_timeout_seconds)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise DeliveryFailed(
            "recipient_refused",
            f"The mail server refused the recipient ({codes}).",
            transient=_all_4xx(codes),
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryFailed(
            "smtp_error", f"The mail server answered {exc.smtp_code}.", transient=_all_4xx([exc.smtp_code])
        ) from None
    except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, TLS failed
        raise DeliveryFailed(
            "smtp_unreachable",
            f"The mail server could not be reached ({type(exc).__name__}).",
            transient=True,
        ) from None
    log.info("mail_sent")
    return "smtp"


def _all_4xx(codes: list[int]) -> bool:
    return bool(codes) and all(400 <= code < 500 for code in codes)


def _write_outbox(folder: Path, message: EmailMessage) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    # Sorted by time in a directory listing; the uuid keeps two in one microsecond apart.
    path = folder / f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
    temporary = path.with_suffix(".part")
    temporary.write_bytes(message.as_bytes())
    temporary.replace(path)  # a reader never sees half a message
    return path


def _send_smtp(url: str, message: EmailMessage, timeout: float) -> None:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise DeliveryFailed("mail_misconfigured", "MAIL_URL must be smtp://… or smtps://….", transient=False)
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(parts.hostname, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(parts.hostname, port, timeout=timeout)
    with client:
        client.ehlo()
        if parts.scheme == "smtp" and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)
