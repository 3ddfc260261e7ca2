"""schemathesis on every test run: every operation, every check, as a user, an admin and anonymously.

Small and time-boxed (a few examples and 15 s of generation per caller); ``make fuzz`` runs the
same thing for longer. New routes are covered without listing them here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conjure.settings import Settings
from tests.platform.fuzz import CALLERS, OVERRIDES, fuzz


@pytest.mark.timeout(150)
def test_no_input_breaks_the_contract(make_settings: Callable[..., Settings], sqlite_url: str) -> None:
    outcomes = fuzz(make_settings(database_url=sqlite_url, **OVERRIDES), max_examples=5, max_time=15)
    assert [o.caller for o in outcomes] == list(CALLERS)
    for outcome in outcomes:
        assert outcome.operations >= 50, outcome.output[-3000:]
        assert outcome.cases > 0, outcome.output[-3000:]
        assert outcome.returncode == 0, outcome.output[-20000:]
