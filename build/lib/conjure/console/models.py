"""Job kinds an operator has paused: workers leave their jobs queued until the kind is resumed."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from conjure.db import Base, UTCDateTime, utcnow


class PausedKind(Base):
    """One paused job kind; resuming deletes the row."""

    __tablename__ = "paused_job_kinds"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    paused_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
