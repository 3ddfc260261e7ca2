"""The offline staging model: the room type's furniture on the floor, a colour grade for the style.

Not a model's work and never passed off as one: every result carries an "offline
preview" label. What it does is what a person recognises as staging: the lower part
of the photo (where the floor is in a room shot) gets a rug, the room type's
furniture with soft shadows, and the whole photo the style's light and palette.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

OFFLINE_LABEL = "offline preview"
MODEL = "offline-staging-v1"

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    """A style: the tint and strength of its grade, and the colours of its furniture."""

    tint: RGB
    warmth: float  # blend strength of the tint
    contrast: float
    saturation: float
    main: RGB  # large pieces (sofa, bed)
    accent: RGB  # cushions, chairs
    wood: RGB  # tables, frames
    rug: RGB


PALETTES: dict[str, Palette] = {
    "modern": Palette(
        (200, 210, 225), 0.10, 1.10, 1.00, (70, 74, 82), (214, 120, 60), (60, 50, 45), (190, 190, 195)
    ),
    "scandinavian": Palette(
        (245, 238, 225), 0.14, 0.98, 0.85, (225, 222, 215), (150, 175, 160), (196, 160, 118), (236, 230, 218)
    ),
    "industrial": Palette(
        (120, 110, 100), 0.14, 1.18, 0.80, (92, 64, 48), (60, 60, 62), (40, 40, 42), (120, 110, 100)
    ),
    "mid_century": Palette(
        (235, 190, 130), 0.14, 1.05, 1.10, (46, 110, 100), (225, 160, 50), (140, 82, 45), (200, 150, 100)
    ),
    "coastal": Palette(
        (200, 225, 240), 0.14, 1.00, 0.95, (235, 238, 240), (70, 120, 170), (200, 180, 150), (210, 225, 230)
    ),
    "farmhouse": Palette(
        (235, 215, 185), 0.14, 1.00, 0.90, (230, 225, 210), (120, 130, 110), (130, 95, 65), (180, 160, 130)
    ),
    "luxury": Palette(
        (230, 205, 160), 0.12, 1.12, 1.05, (30, 40, 70), (190, 150, 70), (50, 30, 25), (120, 30, 45)
    ),
    "minimalist": Palette(
        (240, 240, 240), 0.12, 0.95, 0.70, (210, 210, 208), (40, 40, 40), (180, 175, 170), (228, 228, 226)
    ),
}

# Pieces per room type, in floor-box units (0..1 across, 0..1 from the floor's far edge to the
# photo's bottom): (shape, colour role, left, top, width, height). Drawn back to front.
Piece = tuple[str, str, float, float, float, float]
ROOMS: dict[str, list[Piece]] = {
    "living_room": [
        ("ellipse", "rug", 0.18, 0.45, 0.64, 0.45),
        ("box", "main", 0.22, 0.05, 0.56, 0.40),  # sofa
        ("box", "accent", 0.26, 0.00, 0.14, 0.14),  # cushions
        ("box", "accent", 0.60, 0.00, 0.14, 0.14),
        ("box", "wood", 0.38, 0.55, 0.24, 0.14),  # coffee table
        ("tall", "wood", 0.85, -0.55, 0.03, 0.90),  # floor lamp
        ("plant", "accent", 0.05, -0.20, 0.10, 0.60),
    ],
    "bedroom": [
        ("ellipse", "rug", 0.15, 0.50, 0.70, 0.45),
        ("box", "wood", 0.25, -0.30, 0.50, 0.35),  # headboard
        ("box", "main", 0.25, 0.00, 0.50, 0.70),  # bed
        ("box", "accent", 0.30, 0.02, 0.16, 0.12),  # pillows
        ("box", "accent", 0.54, 0.02, 0.16, 0.12),
        ("box", "wood", 0.10, 0.00, 0.11, 0.22),  # nightstands
        ("box", "wood", 0.79, 0.00, 0.11, 0.22),
    ],
    "kitchen": [
        ("box", "wood", 0.20, 0.15, 0.60, 0.35),  # island
        ("box", "main", 0.18, 0.08, 0.64, 0.08),  # worktop
        ("stool", "accent", 0.28, 0.50, 0.08, 0.35),
        ("stool", "accent", 0.46, 0.50, 0.08, 0.35),
        ("stool", "accent", 0.64, 0.50, 0.08, 0.35),
    ],
    "dining_room": [
        ("ellipse", "rug", 0.12, 0.30, 0.76, 0.60),
        ("box", "accent", 0.22, 0.10, 0.10, 0.35),  # chairs
        ("box", "accent", 0.68, 0.10, 0.10, 0.35),
        ("box", "wood", 0.28, 0.30, 0.44, 0.22),  # table
        ("box", "accent", 0.36, 0.55, 0.10, 0.35),
        ("box", "accent", 0.54, 0.55, 0.10, 0.35),
        ("tall", "wood", 0.49, -0.90, 0.02, 0.60),  # pendant
    ],
    "office": [
        ("ellipse", "rug", 0.20, 0.45, 0.60, 0.45),
        ("box", "wood", 0.25, 0.05, 0.50, 0.30),  # desk
        ("box", "main", 0.42, -0.25, 0.16, 0.22),  # monitor
        ("box", "accent", 0.42, 0.35, 0.16, 0.40),  # chair
        ("plant", "accent", 0.82, -0.10, 0.10, 0.50),
    ],
    "bathroom": [
        ("box", "main", 0.08, 0.10, 0.45, 0.35),  # bathtub
        ("box", "wood", 0.62, 0.00, 0.28, 0.30),  # vanity
        ("ellipse", "main", 0.66, -0.30, 0.20, 0.26),  # mirror
        ("ellipse", "rug", 0.20, 0.55, 0.40, 0.30),
        ("plant", "accent", 0.92, 0.00, 0.06, 0.40),
    ],
    "kids_room": [
        ("ellipse", "rug", 0.20, 0.45, 0.60, 0.50),
        ("box", "accent", 0.08, 0.00, 0.40, 0.45),  # small bed
        ("box", "main", 0.10, 0.02, 0.14, 0.10),
        ("box", "wood", 0.62, 0.15, 0.22, 0.22),  # toy box
        ("ellipse", "accent", 0.45, 0.60, 0.10, 0.12),  # ball
    ],
    "outdoor": [
        ("box", "main", 0.10, 0.20, 0.30, 0.25),  # lounge chairs
        ("box", "main", 0.60, 0.20, 0.30, 0.25),
        ("ellipse", "wood", 0.42, 0.30, 0.16, 0.16),  # side table
        ("tall", "wood", 0.49, -0.80, 0.02, 1.05),  # umbrella pole
        ("canopy", "accent", 0.25, -0.95, 0.50, 0.25),
        ("plant", "accent", 0.02, -0.10, 0.08, 0.50),
    ],
}


def grade(photo: Image.Image, palette: Palette) -> Image.Image:
    """The style's light: contrast and saturation, then a tint blended over the whole photo."""
    graded = ImageEnhance.Contrast(photo).enhance(palette.contrast)
    graded = ImageEnhance.Color(graded).enhance(palette.saturation)
    return Image.blend(graded, Image.new("RGB", graded.size, palette.tint), palette.warmth)


def _shape(
    draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], fill: tuple[int, ...]
) -> None:
    left, top, right, bottom = box
    radius = max(2, min(right - left, bottom - top) // 6)
    if shape in ("ellipse",):
        draw.ellipse(box, fill=fill)
    elif shape == "plant":
        stem = (
            left + (right - left) * 2 // 5,
            top + (bottom - top) // 2,
            left + (right - left) * 3 // 5,
            bottom,
        )
        draw.rounded_rectangle(stem, radius=radius, fill=(90, 70, 55, 235))
        draw.ellipse((left, top, right, top + (bottom - top) * 3 // 5), fill=(70, 120, 70, 235))
    elif shape == "stool":
        draw.ellipse((left, top, right, top + (bottom - top) // 4), fill=fill)
        draw.rectangle((left + (right - left) // 3, top, right - (right - left) // 3, bottom), fill=fill)
    elif shape == "canopy":
        draw.polygon([(left, bottom), ((left + right) // 2, top), (right, bottom)], fill=fill)
    else:  # box, tall
        draw.rounded_rectangle(box, radius=radius, fill=fill)


def furnish(photo: Image.Image, room_type: str, palette: Palette) -> Image.Image:
    """Composite the room type's furniture onto the floor area, with a soft shadow under it."""
    width, height = photo.size
    floor_top = int(height * 0.55)
    floor_h = height - floor_top
    layer = Image.new("RGBA", photo.size, (0, 0, 0, 0))
    shadow = Image.new("RGBA", photo.size, (0, 0, 0, 0))
    draw, shade = ImageDraw.Draw(layer), ImageDraw.Draw(shadow)
    colours = {"main": palette.main, "accent": palette.accent, "wood": palette.wood, "rug": palette.rug}
    for shape, role, x, y, w, h in ROOMS.get(room_type, ROOMS["living_room"]):
        box = (
            int(width * x),
            floor_top + int(floor_h * y),
            int(width * (x + w)),
            floor_top + int(floor_h * (y + h)),
        )
        alpha = 170 if role == "rug" else 240
        if role != "rug" and shape not in ("tall", "canopy"):
            offset = max(2, width // 200)
            foot = (
                box[0] + offset,
                box[3] - (box[3] - box[1]) // 6,
                box[2] + offset * 3,
                box[3] + offset * 2,
            )
            shade.ellipse(foot, fill=(0, 0, 0, 110))
        _shape(draw, shape, box, (*colours[role], alpha))
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(2, width // 150)))
    staged = Image.alpha_composite(photo.convert("RGBA"), shadow)
    return Image.alpha_composite(staged, layer).convert("RGB")


def label(image: Image.Image) -> Image.Image:
    """Stamp "offline preview" in a corner, so nobody mistakes the result for a model's work."""
    width, height = image.size
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(14, width // 28))
    box = draw.textbbox((0, 0), OFFLINE_LABEL, font=font)
    pad = max(4, width // 80)
    # Bottom right: the side a before/after slider shows the staged image on.
    left, top = width - box[2] - pad * 2, height - (box[3] - box[1]) - pad * 4
    draw.rectangle((left - pad, top - pad, left + box[2] + pad, top + box[3] + pad), fill=(0, 0, 0))
    draw.text((left, top), OFFLINE_LABEL, fill=(255, 255, 255), font=font)
    return image


def stage_offline(photo: Image.Image, room_type: str, style: str) -> Image.Image:
    """The photo graded for ``style``, furnished for ``room_type``, labelled as an offline preview."""
    palette = PALETTES.get(style, PALETTES["modern"])
    return label(furnish(grade(photo, palette), room_type, palette))
