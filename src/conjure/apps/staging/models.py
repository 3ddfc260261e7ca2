"""The staging tables: projects, images (one row per staged variant), Replicate predictions, webhooks."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from conjure.db import Base, JSONType, UTCDateTime, new_id, utcnow


class ImageStatus:
    """An image's life: ``queued → processing → ready | failed``.

    ``canceled`` is never stored: a row whose job its owner canceled stays ``failed`` (error code
    ``canceled``; the quota and the hooks treat both ends alike) and is *shown* as canceled
    (:func:`conjure.apps.staging.service.image_status`)."""

    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    CANCELED = "canceled"


class Project(Base):
    """A user's folder of room photos."""

    __tablename__ = "staging_projects"
    __table_args__ = (Index("ix_staging_projects_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StagedImage(Base):
    """One staging of one uploaded photo; a restage is a new row on the same original."""

    __tablename__ = "staging_images"
    __table_args__ = (Index("ix_staging_images_project_id_created_at", "project_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staging_projects.id", ondelete="CASCADE"))
    # The job that stages it; not a foreign key so the jobs table can be pruned.
    job_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ImageStatus.QUEUED)
    room_type: Mapped[str] = mapped_column(String(32))
    style: Mapped[str] = mapped_column(String(32))
    quality: Mapped[str] = mapped_column(String(16), default="standard")
    # The uploaded original (shared by every variant of it) and what the worker stored.
    original_key: Mapped[str] = mapped_column(String(512), index=True)
    display_key: Mapped[str | None] = mapped_column(String(512))
    staged_key: Mapped[str | None] = mapped_column(String(512))
    thumbnail_key: Mapped[str | None] = mapped_column(String(512))
    staged_thumbnail_key: Mapped[str | None] = mapped_column(String(512))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(128))
    cost_usd: Mapped[float | None] = mapped_column(Float)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Prediction(Base):
    """A Replicate prediction a staging job waits on; the webhook (or polling) records its end here."""

    __tablename__ = "staging_predictions"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # Replicate's prediction id
    # Null while only its webhook is known (it can arrive before the job records the prediction).
    job_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    attempt: Mapped[int | None] = mapped_column(Integer)
    model: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(32))
    output: Mapped[object | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ReplicateWebhook(Base):
    """Every webhook-id accepted once (Standard Webhooks idempotency: a redelivery changes nothing)."""

    __tablename__ = "staging_replicate_webhooks"

    webhook_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    prediction_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Upload(Base):
    """A presigned upload of an original photo. Only these keys can be staged; one that no image
    uses is deleted with its object once it is ``STAGING_UPLOAD_RETENTION_SECONDS`` old
    (:func:`conjure.apps.staging.cleanup.delete_unused_uploads`)."""

    __tablename__ = "staging_uploads"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    # Not a foreign key: the row (and so the cleanup of its object) outlives a deleted user.
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
