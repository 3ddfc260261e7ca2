"""Response models of the users domain."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict


class UserOut(BaseModel):
    """The signed-in user as clients see them (no password hash, no external ids)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str | None
    name: str | None
    picture_url: str | None
    role: str
    external_provider: str | None
    star_balance: int
    coin_balance: int
    stars_held: int
    invite_code: str
    total_invites: int
    tier: str
    created_at: dt.datetime
