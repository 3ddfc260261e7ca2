"""The example app's one table, ``example_greetings``: one row per succeeded greeting job.

It sits on its own declarative base: the app exists only inside these tests, so its table
stays out of the platform's shared metadata (which the migration checks compare with).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from conjure.db import UTCDateTime, new_id, utcnow


class ExampleBase(DeclarativeBase):
    metadata = MetaData()


class Greeting(ExampleBase):
    __tablename__ = "example_greetings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    job_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    text: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
