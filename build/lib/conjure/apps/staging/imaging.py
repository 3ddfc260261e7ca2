"""Checks and conversions of room photos with Pillow: the type is sniffed, never trusted.

An upload is decoded only if it is a JPEG, PNG or WebP whose header stays under the
pixel limit (a decompression bomb is small on disk and huge in memory); EXIF
orientation is applied and every EXIF/GPS field is dropped from what is stored for
display, the model's input and the thumbnails.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from conjure.jobs.registry import PermanentJobError

FORMATS = ("JPEG", "PNG", "WEBP")


def decode_photo(data: bytes, *, max_pixels: int) -> Image.Image:
    """The photo upright and as RGB, or :class:`PermanentJobError` if it is not a usable image."""
    try:
        with warnings.catch_warnings():
            # Pillow warns (and only then errors) about large images; the explicit limit below decides.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as probe:
                if probe.width * probe.height > max_pixels:
                    raise PermanentJobError(
                        "image_too_large",
                        f"The photo has more than {max_pixels} pixels; upload a smaller one.",
                    )
                probe.verify()
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
                return upright.convert("RGB")
    except PermanentJobError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise PermanentJobError("not_an_image", "The upload is not a JPEG, PNG or WebP photo.") from exc


def fit(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` scaled down (never up) so its long side is at most ``max_side``."""
    if max(image.size) <= max_side:
        return image
    copy = image.copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return copy


def to_jpeg(image: Image.Image, *, quality: int = 88) -> bytes:
    """JPEG bytes with no EXIF, no GPS, no comments: only pixels."""
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def thumbnail_jpeg(image: Image.Image, side: int) -> bytes:
    return to_jpeg(fit(image, side), quality=80)
