"""Retry timing: full-jitter exponential backoff (seed 000: base 2 s, cap 60 s), never sooner than a
provider's ``Retry-After``."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from email.utils import parsedate_to_datetime


def backoff_ceiling(attempt: int, *, base: float, cap: float) -> float:
    """The largest delay after failed attempt ``attempt`` (1-based): ``min(cap, base * 2**(attempt-1))``."""
    exponent = max(attempt, 1) - 1
    # Cap the exponent first so a huge attempt number cannot overflow a float.
    return float(min(cap, base * (2 ** min(exponent, 62))))


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """A delay drawn uniformly from ``[0, backoff_ceiling(attempt)]`` (AWS "full jitter")."""
    ceiling = backoff_ceiling(attempt, base=base, cap=cap)
    return (rng or random).uniform(0.0, ceiling)


# The longest Retry-After honoured: a provider asking for more is waited on this long, so a job
# is not parked for hours on one header (it still cannot retry sooner than this).
RETRY_AFTER_CAP_SECONDS = 3600.0


def at_least(delay: float, retry_after: float | None, rng: random.Random | None = None) -> float:
    """``delay``, or longer when the provider asked for ``retry_after`` seconds (its ``Retry-After``).

    Up to 10 % is added to the provider's figure, so jobs told the same wait do not all come
    back in the same instant."""
    if retry_after is None or retry_after <= 0:
        return delay
    wait = min(retry_after, RETRY_AFTER_CAP_SECONDS) * (rng or random).uniform(1.0, 1.1)
    return max(delay, wait)


def parse_retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header's seconds (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return seconds if seconds > 0 else None


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    """A provider's wait from its response headers: ``Retry-After`` (seconds or a date), or
    OpenAI's ``retry-after-ms`` (``headers``: an HTTP client's case-insensitive mapping)."""
    millis = headers.get("retry-after-ms")
    if millis is not None and (wait := parse_retry_after(millis)) is not None:
        return wait / 1000
    return parse_retry_after(headers.get("retry-after"))
