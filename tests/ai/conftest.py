"""Fixtures for the AI chain's tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from conjure.ai import chain


@pytest.fixture
def chain_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """What the chain logs during the test. Its module logger may have been cached at its first
    use in an earlier test (``cache_logger_on_first_use``) and would bypass the capture, so the
    chain logs through a fresh one meanwhile."""
    with capture_logs() as captured:
        monkeypatch.setattr(chain, "log", structlog.get_logger("conjure.ai"))
        yield captured
