"""Fixtures for account tests: the staging app's API with an embedded worker, on either stack."""

from __future__ import annotations

from tests.apps.staging.conftest import stack, staging_s3_endpoint, start_api

__all__ = ["stack", "staging_s3_endpoint", "start_api"]
