"""The ``/staging`` page and its assets (plain HTML + an ES module, no build step).

Its Content-Security-Policy lets the page talk to one more origin than the API's:
the object store's, where photos are uploaded straight to and shown from.
"""

from __future__ import annotations

from pathlib import Path

from conjure.kit.pages import page_router

STATIC_DIR = Path(__file__).parent / "static"
router = page_router(
    "staging",
    STATIC_DIR,
    extra={"img-src": "blob:"},
    storage_in=("img-src", "connect-src"),
    summary="Projects, direct uploads, staging with live status, before/after.",
)
