"""The ``tarot_readings`` table (seed 000): completed readings, written in the job's finishing transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from conjure.db import Base, JSONType, UTCDateTime, new_id, utcnow


class TarotReading(Base):
    """A finished reading: the question, the audited draw, the analysis and the reading itself."""

    __tablename__ = "tarot_readings"
    # History pages are "this user's readings, newest first".
    __table_args__ = (Index("ix_tarot_readings_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    question: Mapped[str] = mapped_column(Text)
    question_length: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8))
    card_count: Mapped[int] = mapped_column(Integer)
    draw_id: Mapped[str] = mapped_column(String(64))
    cards: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    reading: Mapped[dict[str, Any]] = mapped_column(JSONType)
    question_analysis: Mapped[dict[str, Any]] = mapped_column(JSONType)
    prompt_version: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(32))
    processing_time_ms: Mapped[int] = mapped_column(Integer)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
