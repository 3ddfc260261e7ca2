"""Full-jitter backoff stays within its bounds (seed 000: base 2 s, cap 60 s)."""

from __future__ import annotations

import datetime as dt
import random
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from conjure.jobs.retry import (
    RETRY_AFTER_CAP_SECONDS,
    at_least,
    backoff_ceiling,
    backoff_delay,
    parse_retry_after,
)


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    base=st.floats(min_value=0.001, max_value=10),
    cap=st.floats(min_value=0.001, max_value=600),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_delay_is_between_zero_and_the_capped_exponential(
    attempt: int, base: float, cap: float, seed: int
) -> None:
    delay = backoff_delay(attempt, base=base, cap=cap, rng=random.Random(seed))
    ceiling = backoff_ceiling(attempt, base=base, cap=cap)
    assert 0.0 <= delay <= ceiling <= cap
    assert ceiling == min(cap, base * 2 ** min(attempt - 1, 62))


def test_seed_schedule() -> None:
    ceilings = [backoff_ceiling(n, base=2, cap=60) for n in range(1, 8)]
    assert ceilings == [2, 4, 8, 16, 32, 60, 60]


def test_jitter_spreads_over_the_whole_range() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(3, base=2, cap=60, rng=rng) for _ in range(2000)]
    assert min(delays) < 0.5
    assert max(delays) > 7.5


def test_a_retry_after_is_a_floor_with_a_little_spread() -> None:
    rng = random.Random(3)
    delays = [at_least(1.5, 20.0, rng) for _ in range(500)]
    assert min(delays) >= 20.0
    assert max(delays) <= 22.0
    assert max(delays) - min(delays) > 1.0  # not everyone back at the same instant
    assert at_least(45.0, 20.0) == 45.0  # a longer backoff stands
    assert at_least(1.5, None) == 1.5
    assert at_least(1.5, 10**9) <= RETRY_AFTER_CAP_SECONDS * 1.1


def test_retry_after_headers_are_seconds_or_http_dates() -> None:
    assert parse_retry_after("20") == 20.0
    assert parse_retry_after(" 1.5 ") == 1.5
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)
    parsed = parse_retry_after(format_datetime(soon, usegmt=True))
    assert parsed is not None
    assert 80 < parsed <= 90
    for bad in (None, "", "soon", "-5", "0", "nan", "Wed, 21 Oct 2015 07:28:00 GMT"):
        assert parse_retry_after(bad) is None, bad
