"""A guided meditation's script: timed segments (words to speak, then a pause) for a theme.

Written offline from a few well-worn forms (arriving, breath, body, the theme, returning), so
a meditation never needs a model; the pauses are set after the speech is synthesized, so the
audio comes out at the length asked for whatever the voice's pace.
"""

from __future__ import annotations

from dataclasses import dataclass

ARRIVE = [
    "Welcome. Find a comfortable position, and let your eyes close, or rest your gaze softly.",
    "Let yourself arrive here. There is nothing to do right now, and nowhere else to be.",
]
BREATH = [
    "Breathe in slowly through your nose, and let the breath out gently.",
    "Notice the air moving in, and moving out. Let each breath be a little slower than the last.",
    "If your mind wanders, that is fine. Simply come back to the breath.",
    "Feel the rise of your chest, and the soft fall as you breathe out.",
]
BODY = [
    "Bring your attention to your feet. Let them be heavy and warm.",
    "Let the softness move up through your legs, your hips, and your belly.",
    "Relax your shoulders. Let them drop away from your ears.",
    "Soften your jaw, your cheeks, and the space between your eyebrows.",
]
RETURN = [
    "Slowly begin to come back. Notice the sounds around you.",
    "Move your fingers and toes. Take one more deep breath, and when you are ready, open your eyes.",
]
THEMES = {
    "sleep": [
        "Imagine the day settling like snow, each thought drifting down and coming to rest.",
        "Your body is heavy and safe. The bed holds you completely.",
        "With every breath out, you sink a little deeper into rest.",
    ],
    "stress": [
        "Picture the tension in your body as a color, and watch it fade with each breath out.",
        "Whatever is waiting for you can wait a few minutes more.",
        "You are allowed to put it down for now.",
    ],
    "focus": [
        "Let your attention gather, like light through a lens, on one simple thing: this breath.",
        "When you are finished here, you will bring this clarity to one task at a time.",
        "Steady, clear, and unhurried.",
    ],
    "gratitude": [
        "Bring to mind one person who has been kind to you, and silently thank them.",
        "Think of one small thing today that went well.",
        "Let that warmth spread through your chest with each breath.",
    ],
}


@dataclass(frozen=True)
class Segment:
    text: str
    pause_weight: float  # this segment's share of the silence that follows it


def theme_lines(theme: str) -> list[str]:
    key = next((name for name in THEMES if name in theme.lower()), None)
    if key is not None:
        return THEMES[key]
    return [
        f"Bring to mind {theme}. Hold it gently, without needing to change anything.",
        f"Breathe in calm, and breathe out anything you do not need around {theme}.",
        "Let whatever you feel be welcome, and let it pass like clouds in a wide sky.",
    ]


def write_script(theme: str, minutes: int) -> list[Segment]:
    """About one segment a minute (4-14), spread over arriving, breath, body, theme, return."""
    count = max(4, min(14, minutes))
    middle = BREATH + BODY + theme_lines(theme)
    body = count - len(ARRIVE) - len(RETURN)
    picked = [middle[i * len(middle) // body] for i in range(body)] if body > 0 else []
    lines = ARRIVE + picked + RETURN
    # Longer silences in the middle of the practice, short ones at the start and end.
    weights = [0.5, 1.0] + [2.0] * len(picked) + [1.0, 0.0]
    return [Segment(text, weight) for text, weight in zip(lines, weights, strict=True)]
