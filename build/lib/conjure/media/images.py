"""Image plumbing for any app: bounded provider concurrency, safe downloads, Pillow checks.

A provider's answer is untrusted until Pillow has decoded it: the download is
size-limited while it streams, its Content-Type must be ``image/*``, and the bytes
must decode as a real image, which is then stored as PNG.
"""

from __future__ import annotations

import asyncio
import io
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from PIL import Image, UnidentifiedImageError

from conjure.jobs.registry import PermanentJobError, RetryableJobError
from conjure.jobs.retry import retry_after_of

# One semaphore per provider per event loop. A worker process runs one loop, so this
# bounds the provider calls of the whole process (seed 004: "semaphore-limited
# workers"); keying by loop keeps separate loops (tests) from sharing a semaphore.
_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def provider_slot(provider: str, limit: int) -> AsyncIterator[None]:
    """Hold one of ``limit`` slots for ``provider``; a spike waits here instead of flooding it."""
    slots = _SLOTS.setdefault(asyncio.get_running_loop(), {})
    semaphore = slots.setdefault(provider, asyncio.Semaphore(max(1, limit)))
    async with semaphore:
        yield


def is_transient_status(status: int) -> bool:
    """Statuses worth retrying later: rate limited, or trouble on the provider's side."""
    return status in (408, 409, 425, 429) or status >= 500


async def download_image(
    client: httpx.AsyncClient, url: str, *, max_bytes: int, provider: str
) -> tuple[bytes, str]:
    """Fetch a provider's temporary image URL as (bytes, content type); refuse oversize or non-images."""
    if not url.startswith(("https://", "http://")):
        raise PermanentJobError("invalid_provider_output", f"{provider} returned no usable image URL.")
    try:
        async with client.stream("GET", url) as response:
            if is_transient_status(response.status_code):
                raise RetryableJobError(
                    "image_download_unavailable",
                    f"Downloading the image from {provider} answered {response.status_code}.",
                    retry_after=retry_after_of(response.headers),
                )
            if response.status_code != 200:
                raise PermanentJobError(
                    "image_download_failed",
                    f"Downloading the image from {provider} answered {response.status_code}.",
                )
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if not content_type.startswith("image/"):
                raise PermanentJobError(
                    "not_an_image", f"{provider} returned {content_type or 'no content type'}, not an image."
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(provider, max_bytes)
            chunks, seen = [], 0
            async for chunk in response.aiter_bytes():
                seen += len(chunk)
                if seen > max_bytes:  # a missing or lying Content-Length
                    raise _too_large(provider, max_bytes)
                chunks.append(chunk)
    except httpx.TransportError as exc:
        raise RetryableJobError(
            "image_download_unavailable",
            f"Downloading the image from {provider} failed: {type(exc).__name__}.",
        ) from exc
    return b"".join(chunks), content_type


def _too_large(provider: str, max_bytes: int) -> PermanentJobError:
    message = f"The image from {provider} is larger than {max_bytes} bytes."
    return PermanentJobError("image_too_large", message)


@dataclass(frozen=True)
class CheckedImage:
    """A decoded image, re-encoded as PNG."""

    png: bytes
    width: int
    height: int
    source_format: str


def to_checked_png(data: bytes, *, provider: str) -> CheckedImage:
    """Decode ``data`` with Pillow (refusing anything that is not a real image) and return it as PNG."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()  # structure and checksums, without decoding every pixel
        with Image.open(io.BytesIO(data)) as image:
            source_format = image.format or "unknown"
            if source_format == "PNG":
                image.load()
                return CheckedImage(data, image.width, image.height, source_format)
            converted = image.convert("RGBA" if "A" in image.getbands() else "RGB")
            out = io.BytesIO()
            converted.save(out, format="PNG", optimize=False)
            return CheckedImage(out.getvalue(), image.width, image.height, source_format)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        message = f"{provider} returned data that is not a valid image."
        raise PermanentJobError("not_an_image", message) from exc
