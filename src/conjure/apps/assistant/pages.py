"""The ``/assistant`` page and its assets (plain HTML + an ES module, no build step).

Its Content-Security-Policy lets the page reach one more origin than the API's: the object
store's, where meditation audio is played from (and delegated images are shown from).
"""

from __future__ import annotations

from pathlib import Path

from conjure.kit.pages import page_router

STATIC_DIR = Path(__file__).parent / "static"
router = page_router(
    "assistant",
    STATIC_DIR,
    extra={"media-src": ""},
    storage_in=("img-src", "media-src"),
    summary="Conversations with the answer streaming in, the model badge, memories, meditations.",
)
