"""Request and response bodies of the wallet routes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, StrictInt, field_validator

from conjure.kit.paging import Page
from conjure.wallet.models import WalletTransaction
from conjure.wallet.service import Wallet


class WalletOut(BaseModel):
    user_id: uuid.UUID
    star_balance: int
    coin_balance: int
    stars_held: int
    available_stars: int = Field(description="star_balance - stars_held: what a new job can hold.")
    star_debt: int = Field(
        default=0,
        description="Stars owed after a refund or chargeback took back stars already spent; "
        "nothing can be spent until a purchase, grant or won dispute clears it.",
    )
    total_invites: int
    coins_per_star: int

    @classmethod
    def of(cls, wallet: Wallet, *, coins_per_star: int) -> WalletOut:
        return cls(
            user_id=wallet.user_id,
            star_balance=wallet.star_balance,
            coin_balance=wallet.coin_balance,
            stars_held=wallet.stars_held,
            available_stars=wallet.available_stars,
            star_debt=max(0, -wallet.available_stars),
            total_invites=wallet.total_invites,
            coins_per_star=coins_per_star,
        )


class TransactionOut(BaseModel):
    id: uuid.UUID
    seq: int
    transaction_type: str
    amount: int
    currency: str
    balance_after: int
    held_change: int
    held_after: int
    metadata: dict[str, Any] | None
    related_payment_id: uuid.UUID | None
    related_job_id: uuid.UUID | None
    flagged: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, row: WalletTransaction) -> TransactionOut:
        return cls(
            id=row.id,
            seq=row.seq,
            transaction_type=row.transaction_type,
            amount=row.amount,
            currency=row.currency,
            balance_after=row.balance_after,
            held_change=row.held_change,
            held_after=row.held_after,
            metadata=row.meta,
            related_payment_id=row.related_payment_id,
            related_job_id=row.related_job_id,
            flagged=row.flagged,
            created_at=row.created_at,
        )


class TransactionPage(Page[TransactionOut]):
    """A page of the caller's ledger, newest first (``limit``/``offset``, as every list)."""

    next_before: int | None = Field(
        description="Deprecated (use `offset`): pass as `before` to get the next (older) page; "
        "null on the last page."
    )


class InviteOut(BaseModel):
    invite_code: str
    invite_link: str
    total_invites: int


def _integral(value: Any) -> Any:
    # JSON Schema's "integer" includes 5.0; strings and true stay refused (StrictInt).
    return int(value) if isinstance(value, float) and value.is_integer() else value


WholeNumber = Annotated[StrictInt, BeforeValidator(_integral)]


class ExchangeIn(BaseModel):
    stars: WholeNumber = Field(gt=0, le=1_000_000, description="Whole stars to buy with coins.")


class ExchangeOut(BaseModel):
    stars: int
    coins_spent: int
    wallet: WalletOut


class GrantIn(BaseModel):
    user_id: uuid.UUID
    currency: Literal["star", "coin"]
    # Not zero, in the schema (`not: {const: 0}`) and checked here, as the service checks it too.
    amount: WholeNumber = Field(
        ge=-1_000_000_000,
        le=1_000_000_000,
        description="Negative revokes; never zero.",
        json_schema_extra={"not": {"const": 0}},
    )
    # Something besides whitespace (what str.strip() removes: Unicode spaces and \x1c-\x1f).
    reason: str = Field(min_length=1, max_length=500, pattern=r"[^\s\x1c-\x1f]")

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("A grant must not be zero.")
        return value


class GrantOut(BaseModel):
    transaction: TransactionOut
    wallet: WalletOut


class AdminWalletOut(BaseModel):
    wallet: WalletOut
    email: str | None
    invited_by: uuid.UUID | None
    transactions: list[TransactionOut]


class FlaggedInviterOut(BaseModel):
    """An inviter whose invites look scripted: a burst, or a reward cap reached."""

    inviter_id: uuid.UUID
    email: str | None
    flagged_invites: int = Field(description="How many of their invites were flagged.")
    total_invites: int
    reasons: list[Literal["burst", "cap_per_day", "cap_total"]]
    last_flagged_at: dt.datetime
