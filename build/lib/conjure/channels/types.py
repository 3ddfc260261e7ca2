"""What an app receives from a messaging channel, whichever provider it came through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

CHANNELS = ("sms", "whatsapp", "google")
KINDS = ("message", "review")


@dataclass(frozen=True)
class InboundMessage:
    """One customer message or review, normalised from its provider's wire format.

    ``from_address``: the customer's phone in E.164 (SMS, WhatsApp), a Business Messages
    conversation id, or, for a review, the review's id (Google names no reviewer id).
    ``to_address``: our RingCentral number (E.164), our WhatsApp phone-number id, or the Google
    location id (the ``{location}`` of ``accounts/{account}/locations/{location}``).
    """

    channel: str  # "sms" | "whatsapp" | "google"
    kind: str  # "message" | "review"
    provider_message_id: str
    from_address: str
    to_address: str
    text: str
    received_at: datetime
    rating: int | None = None
    reviewer_name: str | None = None


# An app's handler runs inside the processing job's transaction: it writes with the session and
# never commits; raising rolls everything back and the job retries (then DLQ).
InboundHandler = Callable[[AsyncSession, InboundMessage], Awaitable[None]]

# The handler's session carries the process's Runtime in ``session.info[RUNTIME_SESSION_KEY]``
# (the handler signature has no other way to it), e.g. to submit a job of its own in the same
# transaction with ``conjure.jobs.service.submit_job``.
RUNTIME_SESSION_KEY = "conjure.runtime"
