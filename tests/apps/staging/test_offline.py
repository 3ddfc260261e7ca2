"""The offline model: furniture on the floor, the style's grade, and the "offline preview" label."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops, ImageStat

from conjure.apps.staging.imaging import decode_photo
from conjure.apps.staging.offline import PALETTES, ROOMS, stage_offline
from conjure.apps.staging.schemas import ROOM_TYPES, STYLES
from tests.apps.staging.conftest import room_photo


def _changed(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> float:
    diff = ImageChops.difference(a.crop(box), b.crop(box)).convert("L")
    return float(ImageStat.Stat(diff).mean[0])


def test_every_room_type_and_style_has_a_look() -> None:
    assert set(ROOMS) == set(ROOM_TYPES)
    assert set(PALETTES) == set(STYLES)


@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_furniture_goes_on_the_floor(room_type: str) -> None:
    photo = decode_photo(room_photo(400, 300), max_pixels=10**6)
    staged = stage_offline(photo, room_type, "modern")
    assert staged.size == photo.size
    graded_only = stage_offline(photo, "living_room", "modern")  # same grade, other furniture
    floor, ceiling = (0, 200, 400, 260), (0, 0, 400, 60)
    assert _changed(photo, staged, floor) > 2 * _changed(photo, staged, ceiling)
    if room_type != "living_room":
        assert _changed(graded_only, staged, floor) > 1.0


def test_styles_grade_the_photo_differently() -> None:
    photo = decode_photo(room_photo(200, 150), max_pixels=10**6)
    wall = (0, 0, 200, 30)
    means = {
        style: tuple(ImageStat.Stat(stage_offline(photo, "office", style).crop(wall)).mean)
        for style in STYLES
    }
    assert len(set(means.values())) == len(STYLES)


def test_the_result_is_labelled_as_an_offline_preview() -> None:
    photo = Image.new("RGB", (400, 300), (255, 255, 255))
    staged = stage_offline(photo, "outdoor", "minimalist")
    corner = staged.crop((240, 240, 400, 300)).convert("L")
    histogram = corner.histogram()
    dark, light = sum(histogram[:20]), sum(histogram[236:])
    assert dark > 1000  # the label's black box
    assert light > 50  # its white text
