"""Photo checks: the type is sniffed, bombs refused, EXIF orientation applied and stripped."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from conjure.apps.staging.imaging import decode_photo, fit, thumbnail_jpeg, to_jpeg
from conjure.jobs.registry import PermanentJobError
from tests.apps.staging.conftest import room_photo


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_the_three_upload_types_decode(fmt: str) -> None:
    photo = decode_photo(room_photo(64, 48, fmt=fmt), max_pixels=10_000)
    assert (photo.mode, photo.size) == ("RGB", (64, 48))


@pytest.mark.parametrize(
    "data",
    [b"", b"<html>not a photo</html>", b"GIF89a" + b"\x00" * 64, room_photo(64, 48)[:200]],
    ids=["empty", "html", "gif", "truncated"],
)
def test_what_is_not_a_usable_photo_is_refused(data: bytes) -> None:
    with pytest.raises(PermanentJobError) as caught:
        decode_photo(data, max_pixels=10_000)
    assert caught.value.code == "not_an_image"


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, format="PNG")  # ~10 kB on disk, 64 megapixels
    assert len(out.getvalue()) < 50_000
    with pytest.raises(PermanentJobError) as caught:
        decode_photo(out.getvalue(), max_pixels=40_000_000)
    assert caught.value.code == "image_too_large"


def test_orientation_is_applied_and_exif_and_gps_are_stripped() -> None:
    data = room_photo(64, 48, orientation=6, gps=True)
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.getexif().get_ifd(0x8825)  # the upload carries a location
    photo = decode_photo(data, max_pixels=10_000)
    assert photo.size == (48, 64)
    stored = Image.open(io.BytesIO(to_jpeg(photo)))
    assert not stored.getexif()
    assert "exif" not in stored.info


def test_fit_scales_down_only_and_thumbnails_are_small() -> None:
    big = Image.new("RGB", (3000, 1500))
    assert fit(big, 2048).size == (2048, 1024)
    small = Image.new("RGB", (300, 200))
    assert fit(small, 2048) is small
    thumb = Image.open(io.BytesIO(thumbnail_jpeg(big, 400)))
    assert thumb.size == (400, 200)
