"""Image models behind one small interface, chosen by ``IMAGE_PROVIDER``: openai, replicate, offline.

Each provider returns either the image bytes or a temporary URL to download; it
maps its failures onto the engine's errors: 429/5xx/timeouts are
:class:`RetryableJobError` (the engine backs off and retries, never sooner than the
provider's ``Retry-After``), refusals and bad configuration are :class:`PermanentJobError`
(the job fails, the hold is released). An exhausted quota or credit (OpenAI's 429
``insufficient_quota``, a 402) is permanent too, since waiting will not refill it; every refusal
the operator must look at (quota, credentials, content policy, a rejected request) is logged at
ERROR, one line without the prompt.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import openai
import structlog
from PIL import Image, ImageDraw, ImageFont

from conjure.apps.imagegen.settings import ImagegenSettings
from conjure.jobs.registry import PermanentJobError, RetryableJobError
from conjure.jobs.retry import retry_after_of
from conjure.settings import Settings

log = structlog.get_logger("conjure.apps.imagegen")
OFFLINE_LABEL = "offline preview"
# OpenAI's error codes for an account out of credit (sent with a 429, like a rate limit).
OPENAI_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})
ASPECT_RATIOS = {"1024x1024": "1:1", "1024x1536": "2:3", "1536x1024": "3:2"}
REPLICATE_DONE = {"succeeded", "failed", "canceled", "aborted"}
MAX_POLL_HICCUPS = 3  # transient errors tolerated while polling, before the attempt is retried


@dataclass(frozen=True)
class ProviderImage:
    """What a provider produced: bytes, or a temporary URL to fetch them from."""

    model: str
    data: bytes | None = None
    url: str | None = None


class ImageProvider(Protocol):
    name: str

    @property
    def model(self) -> str:
        """The model it asks (the answer names the one that made the image)."""

    @property
    def cost_usd(self) -> float:
        """What one image costs us, for the usage reports."""

    async def generate(self, prompt: str, size: str) -> ProviderImage:
        """Make one image of ``size`` (``WIDTHxHEIGHT``) for ``prompt``."""


def make_image_provider(settings: Settings) -> ImageProvider:
    """The provider ``IMAGE_PROVIDER`` names."""
    configured = settings.for_app(ImagegenSettings).image_provider
    name = configured.strip().lower()
    if name == "openai":
        return OpenAIImageProvider(settings)
    if name == "replicate":
        return ReplicateImageProvider(settings)
    if name == "offline":
        return OfflineImageProvider()
    raise PermanentJobError("provider_not_configured", f"Unknown IMAGE_PROVIDER {configured!r}.")


class OfflineImageProvider:
    """A deterministic picture drawn from the prompt's hash, for the embedded default (no network)."""

    name = "offline"
    model = "offline-pillow-v1"
    cost_usd = 0.0

    async def generate(self, prompt: str, size: str) -> ProviderImage:
        data = await asyncio.to_thread(render_offline_png, prompt, size)
        return ProviderImage(model=self.model, data=data)


def render_offline_png(prompt: str, size: str) -> bytes:
    """A PNG that depends only on (prompt, size), labelled so nobody mistakes it for a model's work."""
    width, height = (int(part) for part in size.split("x"))
    seed = hashlib.sha256(f"{size}\n{prompt}".encode()).digest()
    # Shapes on a small canvas, scaled up smoothly: cheap to draw, soft to look at.
    small = Image.new("RGB", (64, 64), (seed[0], seed[1], seed[2]))
    draw = ImageDraw.Draw(small)
    for i in range(6):
        b = seed[3 + i * 4 : 7 + i * 4]
        x, y, r = b[0] % 64, b[1] % 64, 6 + b[2] % 20
        colour = (b[3], seed[(i * 7) % 32], seed[(i * 11 + 5) % 32])
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    image = small.resize((width, height), Image.Resampling.BICUBIC)
    label = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(16, width // 24))
    box = label.textbbox((0, 0), OFFLINE_LABEL, font=font)
    pad = width // 64
    left, top = pad, height - (box[3] - box[1]) - 3 * pad
    label.rectangle((left - pad, top - pad, left + box[2] + pad, top + box[3] + pad), fill=(0, 0, 0))
    label.text((left, top), OFFLINE_LABEL, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=_png_text({"Software": "Conjure", "Comment": OFFLINE_LABEL}))
    return out.getvalue()


def _png_text(values: dict[str, str]) -> Any:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in values.items():
        info.add_text(key, value)
    return info


class OpenAIImageProvider:
    """OpenAI images (seed 004: gpt-image) through the official SDK; any compatible server by base URL."""

    name = "openai"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def model(self) -> str:
        return self.settings.for_app(ImagegenSettings).openai_image_model

    @property
    def cost_usd(self) -> float:
        return self.settings.for_app(ImagegenSettings).openai_image_cost_usd

    async def generate(self, prompt: str, size: str) -> ProviderImage:
        settings = self.settings
        app = settings.for_app(ImagegenSettings)
        if settings.openai_api_key is None:
            raise PermanentJobError("provider_not_configured", "OPENAI_API_KEY is not set.")
        # Retries belong to the job engine (backoff with jitter, DLQ); the SDK's own would multiply them.
        client = openai.AsyncOpenAI(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url or None,
            max_retries=0,
            timeout=app.image_call_timeout_seconds,
        )
        try:
            response = await client.images.generate(
                model=app.openai_image_model,
                prompt=prompt,
                size=size,
                n=1,
            )
        except openai.APIConnectionError as exc:
            message = f"OpenAI is unavailable: {type(exc).__name__}."
            raise RetryableJobError("provider_unavailable", message) from exc
        except openai.APIStatusError as exc:
            raise _openai_status_error(exc) from exc
        finally:
            await client.close()
        item = response.data[0] if response.data else None
        if item is not None and item.b64_json:
            try:
                data = base64.b64decode(item.b64_json, validate=True)
            except ValueError as exc:
                raise PermanentJobError("invalid_provider_output", "OpenAI returned bad base64.") from exc
            return ProviderImage(model=app.openai_image_model, data=data)
        if item is not None and item.url:
            return ProviderImage(model=app.openai_image_model, url=item.url)
        raise PermanentJobError("invalid_provider_output", "OpenAI returned no image.")


def _openai_status_error(exc: openai.APIStatusError) -> Exception:
    status = exc.status_code
    if exc.code in OPENAI_QUOTA_CODES or status == 402:
        return refused("openai", status, "provider_quota", "The OpenAI account is out of quota or credit.")
    if status in (408, 409, 429) or status >= 500:
        wait = retry_after_of(exc.response.headers)
        return RetryableJobError("provider_unavailable", f"OpenAI answered {status}.", retry_after=wait)
    if exc.code in ("content_policy_violation", "moderation_blocked"):
        message = "The image model's content policy refused the prompt."
        return refused("openai", status, "content_policy", message)
    if status in (401, 403):
        return refused("openai", status, "provider_auth", "OpenAI refused our credentials.")
    return refused("openai", status, "provider_rejected", f"OpenAI refused the request ({status}).")


def refused(provider: str, status: int, code: str, message: str) -> PermanentJobError:
    """A refusal no retry fixes: the job fails at once, and the operator is told (ERROR, no prompt)."""
    log.error("image_provider_refused", provider=provider, status=status, code=code)
    return PermanentJobError(code, message)


class ReplicateImageProvider:
    """Replicate through its HTTP API: create a prediction, poll it until it ends, return the output URL."""

    name = "replicate"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.for_app(ImagegenSettings)
        self.base = self.settings.replicate_base_url.rstrip("/")

    @property
    def model(self) -> str:
        return self.settings.replicate_model

    @property
    def cost_usd(self) -> float:
        return self.settings.replicate_image_cost_usd

    async def generate(self, prompt: str, size: str) -> ProviderImage:
        token = self.settings.replicate_api_token
        if token is None:
            raise PermanentJobError("provider_not_configured", "REPLICATE_API_TOKEN is not set.")
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        timeout = httpx.Timeout(self.settings.image_call_timeout_seconds, connect=10.0)
        async with httpx.AsyncClient(base_url=self.base, headers=headers, timeout=timeout) as client:
            prediction = await self._create(client, prompt, size)
            try:
                prediction = await self._wait(client, prediction)
            except (asyncio.CancelledError, RetryableJobError):
                # Timed out, canceled or retried: stop paying for a prediction nobody will read.
                await self._cancel(client, str(prediction["id"]))
                raise
        output = prediction.get("output")
        url = output[0] if isinstance(output, list) and output else output
        if not isinstance(url, str):
            raise PermanentJobError("invalid_provider_output", "Replicate returned no image URL.")
        return ProviderImage(model=self.settings.replicate_model, url=url)

    async def _create(self, client: httpx.AsyncClient, prompt: str, size: str) -> dict[str, Any]:
        model = self.settings.replicate_model
        inputs = {"prompt": prompt, "aspect_ratio": ASPECT_RATIOS.get(size, "1:1"), "output_format": "png"}
        if ":" in model:  # owner/name:version pins a version
            path, body = "/v1/predictions", {"version": model.split(":", 1)[1], "input": inputs}
        else:
            path, body = f"/v1/models/{model}/predictions", {"input": inputs}
        try:
            response = await client.post(path, json=body)
        except httpx.TransportError as exc:
            message = f"Replicate is unreachable: {type(exc).__name__}."
            raise RetryableJobError("provider_unavailable", message) from exc
        return _replicate_json(response)

    async def _wait(self, client: httpx.AsyncClient, prediction: dict[str, Any]) -> dict[str, Any]:
        hiccups = 0
        while prediction.get("status") not in REPLICATE_DONE:
            await asyncio.sleep(self.settings.replicate_poll_interval_seconds)
            try:
                # Built from our base URL and the id, never from a URL in the answer.
                prediction = _replicate_json(await client.get(f"/v1/predictions/{prediction['id']}"))
                hiccups = 0
            except (RetryableJobError, httpx.TransportError):
                # Re-creating the prediction would pay twice, so ride out a short outage here.
                hiccups += 1
                if hiccups > MAX_POLL_HICCUPS:
                    raise RetryableJobError("provider_unavailable", "Replicate stopped answering.") from None
        if prediction["status"] != "succeeded":
            reason = str(prediction.get("error") or prediction["status"])[:300]
            message = f"Replicate prediction {prediction['status']}: {reason}"
            raise PermanentJobError("provider_failed", message)
        return prediction

    @staticmethod
    async def _cancel(client: httpx.AsyncClient, prediction_id: str) -> None:
        # Best effort: an uncanceled prediction still ends on its own.
        with contextlib.suppress(httpx.HTTPError, TimeoutError):
            await asyncio.wait_for(client.post(f"/v1/predictions/{prediction_id}/cancel"), 5.0)


def _replicate_json(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    if status == 402:  # Replicate: "insufficient credit"
        raise refused("replicate", status, "provider_quota", "The Replicate account is out of credit.")
    if status == 429 or status >= 500:
        wait = retry_after_of(response.headers)
        raise RetryableJobError("provider_unavailable", f"Replicate answered {status}.", retry_after=wait)
    if status in (401, 403):
        raise refused("replicate", status, "provider_auth", "Replicate refused our token.")
    if status >= 400:
        raise refused("replicate", status, "provider_rejected", f"Replicate refused the request ({status}).")
    try:
        body = response.json()
    except ValueError as exc:
        raise RetryableJobError("provider_unavailable", "Replicate answered with invalid JSON.") from exc
    if not isinstance(body, dict) or "id" not in body:
        raise PermanentJobError("invalid_provider_output", "Replicate answered without a prediction id.")
    return body
