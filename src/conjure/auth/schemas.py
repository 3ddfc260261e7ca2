"""Request and response models of the auth domain."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from conjure.kit.paging import Page
from conjure.users.schemas import UserOut

# A name a person typed: no control characters (PostgreSQL refuses NUL in text outright), and no
# bidi embeddings, overrides or isolates, which make a name read otherwise than it is stored.
PLAIN_TEXT = r"^[^\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]*$"
# An invite code as pasted: space around it is trimmed when it is looked up, but a control character
# in it (NUL, which PostgreSQL cannot even compare) makes it no code at all, on every backend alike
# (on SQLite it would otherwise pass as an unknown code, on PostgreSQL fail). A lone surrogate never
# gets this far: the JSON body is refused first.
INVITE_CODE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class SignupIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=8, max_length=128)
    name: str | None = Field(default=None, max_length=200, pattern=PLAIN_TEXT)
    invite_code: str | None = Field(default=None, max_length=32, pattern=INVITE_CODE)


class LoginIn(BaseModel):
    email: EmailStr
    # No minimum here: a short password is just a wrong one (same answer as any other).
    password: str = Field(max_length=128)


class PasswordResetIn(BaseModel):
    email: EmailStr
    language: Literal["en", "th"] = Field(default="en", description="The email's language.")


class PasswordResetConfirmIn(BaseModel):
    # A token is 43 characters (32 bytes, urlsafe base64); longer input is no token.
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=128)  # the sign-up rule


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


# A subset of the `limits` notation (lower case, at most five limits, bounded numbers) that
# `limits.parse_many` always reads, so the schema states the whole rule and no valid-looking
# value is refused at runtime. ECMA and Rust regex syntax alike (no flags, no lookaround).
_ONE_LIMIT = r"[0-9]{1,9} *(?:/|per) *(?:[0-9]{1,9} *)?(?:second|minute|hour|day|month|year)s?"
RATE_LIMIT_PATTERN = rf"^{_ONE_LIMIT}(?: *[,;|] *{_ONE_LIMIT}){{0,4}}$"


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=PLAIN_TEXT)
    rate_limit: str | None = Field(
        default=None,
        max_length=64,
        pattern=RATE_LIMIT_PATTERN,
        description="A lower limit for this key alone, e.g. '10/minute' or '5/second;100/hour' "
        "(the user's own limit applies too)",
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


# --- linked sign-ins ------------------------------------------------------------------------


class PasswordLinkIn(BaseModel):
    """Link an email and password (a new one, or the password of the account that has it)."""

    provider: Literal["password"]
    email: EmailStr
    password: str = Field(min_length=8, max_length=128)


class TelegramLinkIn(BaseModel):
    """Link a Telegram account by the Mini App's signed ``initData``."""

    provider: Literal["telegram"]
    init_data: str = Field(min_length=1, max_length=8192)


class TokenLinkIn(BaseModel):
    """Link a Clerk, Auth0 or Firebase account by one of its current ID tokens."""

    provider: Literal["clerk", "auth0", "firebase"]
    token: str = Field(min_length=1, max_length=8192)


LinkIn = Annotated[PasswordLinkIn | TelegramLinkIn | TokenLinkIn, Field(discriminator="provider")]


class IdentityOut(BaseModel):
    """One way of signing in to the account; ``subject`` is the email, Telegram id or provider user id."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    provider: str
    subject: str
    created_at: dt.datetime


class LinkOut(IdentityOut):
    """The identity linked; ``merged`` when an unused account that held it was folded into this one."""

    merged: bool = False


class IdentityPage(Page[IdentityOut]):
    """The account's sign-ins, oldest first."""
