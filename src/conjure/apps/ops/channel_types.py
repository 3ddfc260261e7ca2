"""The inbound message the channels layer hands the app (a copy of ``conjure.channels.types``).

The platform's channels package lands with another branch; until then this module carries the
same frozen dataclass so the inbox can be built and tested. At merge it becomes a re-export.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class InboundMessage:
    channel: str  # "sms" | "whatsapp" | "google"
    kind: str  # "message" | "review"
    provider_message_id: str
    from_address: str  # the customer's phone (E.164) or a Google reviewer/user id
    to_address: str  # our number / WhatsApp phone-number id / Google location id → the station
    text: str
    received_at: dt.datetime
    rating: int | None = None
    reviewer_name: str | None = None
