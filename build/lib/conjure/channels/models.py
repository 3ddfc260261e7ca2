"""``channel_inbound_events``: every provider message received, stored once before any processing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from conjure.db import Base, JSONType, UTCDateTime, new_id, utcnow


class InboundEvent(Base):
    """One provider message (or review notification) as its webhook delivered it.

    The unique ``(channel, provider_message_id)`` is the dedupe: a redelivery or a replayed
    request inserts nothing. ``processed_at`` is set in the same transaction as the apps'
    handlers write theirs, so a message is handled once even if its job runs twice.
    """

    __tablename__ = "channel_inbound_events"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id", name="uq_channel_inbound_events_message"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(16))
    provider_message_id: Mapped[str] = mapped_column(String(255))
    # The provider's own record of this one message (its part of the delivered body).
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
