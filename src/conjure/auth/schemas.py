"""Request and response models of the auth domain."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from conjure.users.schemas import UserOut


class SignupIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=8, max_length=128)
    name: str | None = Field(default=None, max_length=200)
    invite_code: str | None = Field(default=None, max_length=32)


class LoginIn(BaseModel):
    email: EmailStr
    # No minimum here: a short password is just a wrong one (same answer as any other).
    password: str = Field(max_length=128)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class TelegramIn(BaseModel):
    init_data: str = Field(min_length=1, max_length=8192)


class TokenOut(BaseModel):
    """A signed-in session: a short access token and a rotating refresh token."""

    access_token: str
    token_type: str = "bearer"
    refresh_token: str
    expires_in: int
    user: UserOut


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    rate_limit: str | None = Field(
        default=None,
        max_length=64,
        description="A lower limit for this key alone, e.g. '10/minute' (the user's own limit applies too)",
    )


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    rate_limit: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyOut):
    """The new key; ``key`` is shown this once and cannot be recovered."""

    key: str
