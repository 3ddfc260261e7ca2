"""The staging app's settings, read from the environment (``STAGING_*``, ``REPLICATE_WEBHOOK_SECRET``).

One class, so the platform's per-app settings can own it later; until then
:func:`staging_settings` is the one way code reads it, and tests hand a runtime
explicit values with :func:`use_staging_settings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from conjure.runtime import Runtime

_ATTRIBUTE = "staging_settings"


class StagingSettings(BaseSettings):
    """What the staging app can be tuned with; the defaults are the embedded mode."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

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
    # Replicate: models per quality, the per-image cost recorded in the job's usage.
    staging_model_standard: str = "qwen/qwen-image-edit"
    staging_model_high: str = "black-forest-labs/flux-kontext-max"
    staging_cost_usd_standard: float = 0.011
    staging_cost_usd_high: float = 0.08
    # The public base URL Replicate calls back (empty: PUBLIC_BASE_URL).
    staging_webhook_base_url: str = ""
    replicate_webhook_secret: SecretStr | None = None
    # How long the job waits for the webhook before it polls Replicate itself.
    staging_webhook_grace_seconds: float = 60.0
    # How often the waiting job looks at the recorded prediction (the webhook writes it).
    staging_prediction_check_seconds: float = 0.5
    staging_poll_interval_seconds: float = 2.0
    # Standard Webhooks: a webhook whose timestamp is further than this from now is refused.
    staging_webhook_tolerance_seconds: int = 300


def staging_settings(runtime: Runtime) -> StagingSettings:
    """The staging settings of this runtime (read from the environment on first use)."""
    found = runtime.__dict__.get(_ATTRIBUTE)
    if isinstance(found, StagingSettings):
        return found
    settings = StagingSettings()
    use_staging_settings(runtime, settings)
    return settings


def use_staging_settings(runtime: Runtime, settings: StagingSettings) -> None:
    """Give ``runtime`` these staging settings (tests; later the kit's per-app settings)."""
    runtime.__dict__[_ATTRIBUTE] = settings
