"""The staging app's settings, read from the environment (``STAGING_*``, ``REPLICATE_*``).

Read through the platform's settings: ``settings.for_app(StagingSettings)``. Replicate's
token and base URL have the same env names as imagegen's (``REPLICATE_API_TOKEN``,
``REPLICATE_BASE_URL``), so one account serves both apps; the call timeout and the
download limit are the app's own (``STAGING_CALL_TIMEOUT_SECONDS``, ``STAGING_MAX_DOWNLOAD_BYTES``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from conjure.settings import AppSettings


class StagingSettings(AppSettings):
    """What the staging app can be tuned with; the defaults are the embedded mode."""

    staging_provider: Literal["offline", "replicate"] = "offline"
    staging_price_stars: int = 1
    staging_max_upload_bytes: int = 20 * 1024 * 1024
    staging_upload_ttl_seconds: int = 900
    # Decoding guard: Pillow refuses more pixels than this (a decompression bomb is tiny on disk).
    staging_max_pixels: int = 40_000_000
    # Long side of what is stored for display and sent to the model; thumbnails' long side.
    staging_display_max_side: int = 2048
    staging_thumbnail_side: int = 400
    staging_job_timeout_seconds: float = 300.0
    # Replicate: credentials (shared with imagegen), models per quality, the per-image cost
    # recorded in the job's usage, and the limits of one HTTP call and of the output's size.
    replicate_api_token: SecretStr | None = None
    replicate_base_url: str = "https://api.replicate.com"
    staging_model_standard: str = "qwen/qwen-image-edit"
    staging_model_high: str = "black-forest-labs/flux-kontext-max"
    staging_cost_usd_standard: float = 0.011
    staging_cost_usd_high: float = 0.08
    staging_call_timeout_seconds: float = 120.0
    staging_max_download_bytes: int = 20 * 1024 * 1024
    # The public base URL Replicate calls back (empty: PUBLIC_BASE_URL).
    staging_webhook_base_url: str = ""
    replicate_webhook_secret: SecretStr | None = None
    # How long the job waits (parked, holding no worker) for the webhook before it polls
    # Replicate itself, then the first interval between polls (doubling, at most 30 s), and how
    # long it waits for the prediction in all before it fails with callback_timeout.
    staging_webhook_grace_seconds: float = 60.0
    staging_poll_interval_seconds: float = 2.0
    staging_wait_deadline_seconds: float = 900.0
    # Never-staged uploads (no image row uses them) are deleted once they are this old.
    staging_upload_retention_seconds: float = 86400.0
    # How often the scheduler cancels the Replicate predictions of jobs that ended without them
    # (canceled, failed, timed out, dead-lettered), so nobody pays for an image no one will see.
    staging_cancel_sweep_seconds: float = 30.0
    # Standard Webhooks: a webhook whose timestamp is further than this from now is refused.
    staging_webhook_tolerance_seconds: int = 300
