"""The engine tests' runtimes and kinds, for the tests of what operators see of jobs."""

from __future__ import annotations

from tests.jobs.conftest import make_runtime

__all__ = ["make_runtime"]
