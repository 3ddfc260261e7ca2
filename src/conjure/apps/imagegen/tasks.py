"""The ``imagegen.generate`` job: validate → generate → download → store → (metadata on success).

The seed's worker flow. The handler only produces the image and a result dict; the
``generations`` row is written by :func:`conjure.apps.imagegen.service.save_generation`
in the engine's finishing transaction, together with the status and the capture of
the hold, so a retried or duplicated attempt can never leave a half-saved generation.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from conjure.ai.breaker import breaker_for, deferral
from conjure.apps.imagegen.providers import make_image_provider
from conjure.apps.imagegen.schemas import IMAGE_SIZES, clean_prompt
from conjure.apps.imagegen.settings import ImagegenSettings
from conjure.jobs.registry import JobContext, PermanentJobError
from conjure.media.images import download_image, provider_slot, to_checked_png
from conjure.observability.metrics import MODEL_ERRORS, MODEL_LATENCY
from conjure.observability.tracing import model_span

KIND = "imagegen.generate"


def generation_key(user_id: uuid.UUID | None, job_id: uuid.UUID) -> str:
    """Where a generation's PNG lives in the object store."""
    return f"generations/{user_id or 'system'}/{job_id}.png"


def _payload(ctx: JobContext) -> tuple[str, str]:
    # Checked again here: a payload can reach the queue by other paths than the API.
    try:
        prompt = clean_prompt(str(ctx.payload.get("prompt", "")))
    except ValueError as exc:
        raise PermanentJobError("invalid_prompt", f"The prompt {exc}.") from None
    size = str(ctx.payload.get("size", "1024x1024"))
    if size not in IMAGE_SIZES:
        raise PermanentJobError("invalid_size", f"Unsupported size {size!r}.")
    return prompt, size


def _ms(start: float, end: float) -> int:
    return round((end - start) * 1000)


async def generate_image(ctx: JobContext) -> dict[str, Any]:
    """Make, check and store one image; return what the status endpoint and the gallery need."""
    settings = ctx.settings.for_app(ImagegenSettings)
    prompt, size = _payload(ctx)
    provider = make_image_provider(ctx.settings)
    started = time.perf_counter()
    await ctx.progress("generating")
    # Per process: after AI_BREAKER_FAILURES transient failures in a row the provider is not
    # called until its cooldown ends, and the job waits that long without spending an attempt.
    breaker = breaker_for(f"image-{provider.name}", ctx.settings, service="image")
    if not breaker.allow():
        MODEL_ERRORS.labels(provider.name, "circuit_open").inc()
        raise deferral(
            "provider_unavailable", "The image provider keeps failing; retrying later.", [breaker.remaining()]
        )
    async with provider_slot(provider.name, settings.image_max_concurrency):
        try:
            with model_span(provider.name, provider.model, "image") as call:
                made = await provider.generate(prompt, size)
                call.usage(model=made.model, input_tokens=0, output_tokens=0, cost_usd=provider.cost_usd)
        except PermanentJobError:
            breaker.record_success()  # it answered: a refusal is not an outage
            MODEL_ERRORS.labels(provider.name, "PermanentJobError").inc()
            raise
        except Exception as exc:
            breaker.record_failure()
            MODEL_ERRORS.labels(provider.name, type(exc).__name__).inc()
            raise
        else:
            breaker.record_success()
        finally:
            MODEL_LATENCY.labels(provider.name, "image").observe(time.perf_counter() - started)
    generated = time.perf_counter()
    data = made.data
    if data is None:
        assert made.url is not None
        await ctx.progress("downloading")
        timeout = httpx.Timeout(settings.image_call_timeout_seconds, connect=10.0)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            data, _ = await download_image(
                client, made.url, max_bytes=settings.image_max_download_bytes, provider=provider.name
            )
    image = to_checked_png(data, provider=provider.name)
    downloaded = time.perf_counter()
    await ctx.progress("storing")
    key = generation_key(ctx.user_id, ctx.job_id)
    await ctx.storage.put(key, image.png, content_type="image/png")
    stored = time.perf_counter()
    ctx.record_usage(provider=provider.name, model=made.model, step="image", cost_usd=provider.cost_usd)
    return {
        "object_key": key,
        "provider": provider.name,
        "model": made.model,
        "size": size,
        "width": image.width,
        "height": image.height,
        "bytes": len(image.png),
        "content_type": "image/png",
        "offline_preview": provider.name == "offline",
        "timings_ms": {
            "generate": _ms(started, generated),
            "download": _ms(generated, downloaded),
            "store": _ms(downloaded, stored),
            "total": _ms(started, stored),
        },
    }
