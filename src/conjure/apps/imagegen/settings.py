"""The imagegen app's settings: which image model, its credentials, and the limits around it.

OpenAI's key and base URL are the platform's (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``),
shared with the text models.
"""

from __future__ import annotations

from pydantic import SecretStr

from conjure.settings import AppSettings


class ImagegenSettings(AppSettings):
    """``IMAGE_PROVIDER`` (offline, openai, replicate) and its knobs."""

    image_provider: str = "offline"
    openai_image_model: str = "gpt-image-1"
    replicate_api_token: SecretStr | None = None
    replicate_base_url: str = "https://api.replicate.com"
    replicate_model: str = "black-forest-labs/flux-schnell"
    # What one image costs us (USD) for the usage and cost reports: list prices of the default
    # models (gpt-image-1 medium quality at 1024x1024; flux-schnell per image). Set yours.
    openai_image_cost_usd: float = 0.042
    replicate_image_cost_usd: float = 0.003
    image_max_concurrency: int = 4
    image_max_download_bytes: int = 20 * 1024 * 1024
    image_call_timeout_seconds: float = 120.0
    # One attempt of the image job: gpt-image often takes 30-60 s, the download and store come on top.
    image_job_timeout_seconds: float = 180.0
    replicate_poll_interval_seconds: float = 1.0
