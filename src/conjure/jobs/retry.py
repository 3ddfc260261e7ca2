"""Retry timing: full-jitter exponential backoff (seed 000: base 2 s, cap 60 s)."""

from __future__ import annotations

import random


def backoff_ceiling(attempt: int, *, base: float, cap: float) -> float:
    """The largest delay after failed attempt ``attempt`` (1-based): ``min(cap, base * 2**(attempt-1))``."""
    exponent = max(attempt, 1) - 1
    # Cap the exponent first so a huge attempt number cannot overflow a float.
    return float(min(cap, base * (2 ** min(exponent, 62))))


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """A delay drawn uniformly from ``[0, backoff_ceiling(attempt)]`` (AWS "full jitter")."""
    ceiling = backoff_ceiling(attempt, base=base, cap=cap)
    return (rng or random).uniform(0.0, ceiling)
