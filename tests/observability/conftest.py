"""Fixtures borrowed from the engine and payments tests: runtimes with the test job kinds, and a
shop against the local Stripe (for Stripe's circuit breaker)."""

from __future__ import annotations

from tests.jobs.conftest import make_runtime
from tests.payments.conftest import shop_factory, stripe_server

__all__ = ["make_runtime", "shop_factory", "stripe_server"]
