"""Full-jitter backoff stays within its bounds (seed 000: base 2 s, cap 60 s)."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from conjure.jobs.retry import backoff_ceiling, backoff_delay


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
