"""The generations table: one row per finished image (seed 004's "generation metadata")."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from conjure.db import Base, UTCDateTime, new_id, utcnow


class Generation(Base):
    """A stored image and how it was made; written in the job's finishing transaction."""

    __tablename__ = "generations"
    __table_args__ = (Index("ix_generations_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The job that made it (one image per job); not a foreign key so the jobs
    # table can be pruned without touching the gallery.
    job_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    prompt: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    object_key: Mapped[str] = mapped_column(String(512))
    size: Mapped[str] = mapped_column(String(16))  # as requested, e.g. "1024x1024"
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    generate_ms: Mapped[int] = mapped_column(Integer)
    download_ms: Mapped[int] = mapped_column(Integer)
    store_ms: Mapped[int] = mapped_column(Integer)
    total_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
