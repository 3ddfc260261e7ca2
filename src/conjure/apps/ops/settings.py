"""The ops app's settings, read from the environment (``OPS_*``).

Read through the platform's settings: ``settings.for_app(OpsSettings)``.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from conjure.settings import AppSettings

# Where a booking's date and time are on the wall clock when OPS_TIMEZONE is unset: UTC-12, the
# last place a moment comes, so no booking that is still ahead anywhere is refused as past.
LAST_ZONE = dt.timezone(dt.timedelta(hours=-12))

# USD per million tokens (input, output). GPT-4o class for customer-facing text, the cheaper
# model for classification and scoring (the seed's GPT-3.5 role); offline costs nothing.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-3.5-turbo": (0.5, 1.5),
    "gemini-2.5-flash": (0.3, 2.5),
    "offline-rules-v1": (0.0, 0.0),
}


class OpsSettings(AppSettings):
    """What the ops app can be tuned with; the defaults are the embedded mode."""

    # Encrypts customers' email, phone, name and address (AES-GCM) and keys their lookup hash.
    # 32 bytes, base64 or hex. Unset outside production: derived from JWT_SECRET (stable per install).
    ops_pii_key: SecretStr | None = None
    # Model names per role; the provider chain is the platform's AI_PROVIDER.
    ops_ai_model_primary: str = "gpt-4o"
    ops_ai_model_cheap: str = "gpt-4o-mini"
    # Per-model price overrides, USD per million tokens: {"model": [input, output]}.
    ops_ai_prices: dict[str, tuple[float, float]] = Field(default_factory=dict)
    # The seed's "50 requests/minute per station" (limits syntax).
    ops_ai_rate_limit: str = "50/minute"
    ops_default_monthly_budget_usd: float = 50.0
    # The public lead form, per client IP.
    ops_public_lead_rate_limit: str = "5/minute;30/hour"
    # Deposits: amount in the currency's smallest unit, and the refund policy on cancellation.
    ops_deposit_amount: int = 10_000
    ops_deposit_currency: str = "usd"
    # The stations' wall clock (an IANA name such as "America/Los_Angeles"): a booking's date and
    # time are read in it to refuse one that has already started, and the refund policy counts
    # days' notice on its calendar. Unset: see LAST_ZONE.
    ops_timezone: str | None = None

    @field_validator("ops_timezone")
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        if name:
            _zone(name)
        return name or None  # OPS_TIMEZONE= (empty) is unset

    @property
    def booking_zone(self) -> dt.tzinfo:
        """The zone a booking's date and time are read in (``ops_timezone``, else :data:`LAST_ZONE`)."""
        return LAST_ZONE if self.ops_timezone is None else _zone(self.ops_timezone)

    def price_of(self, model: str) -> tuple[float, float]:
        """(input, output) USD per million tokens of ``model`` (unknown models: the primary's price)."""
        prices = {**DEFAULT_PRICES, **self.ops_ai_prices}
        return prices.get(model) or prices.get(self.ops_ai_model_primary) or (0.0, 0.0)


def _zone(name: str) -> dt.tzinfo:
    if name.upper() == "UTC":  # no time-zone database needed
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        known = "an IANA name such as Asia/Bangkok"
        raise ValueError(f"{name!r} is not a time zone this system knows ({known})") from None
