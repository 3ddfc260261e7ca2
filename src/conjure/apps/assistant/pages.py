"""The ``/assistant`` page and its assets (plain HTML + an ES module, no build step).

Its Content-Security-Policy lets the page reach one more origin than the API's: the object
store's, where meditation audio is played from, delegated images and attached photos are shown
from, and a photo is uploaded to (a presigned upload); ``blob:`` images are the local preview of
a photo before it is sent.
"""

from __future__ import annotations

from pathlib import Path

from conjure.kit.pages import page_router

STATIC_DIR = Path(__file__).parent / "static"
router = page_router(
    "assistant",
    STATIC_DIR,
    extra={"media-src": "", "img-src": "blob:"},
    storage_in=("img-src", "media-src", "connect-src"),
    summary="Conversations with the answer streaming in, the model badge, photos to stage, memories, "
    "meditations.",
)
