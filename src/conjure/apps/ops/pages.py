"""The ``/ops`` console and its assets (plain HTML + an ES module, no build step)."""

from __future__ import annotations

from pathlib import Path

from conjure.kit.pages import page_router

STATIC_DIR = Path(__file__).parent / "static"
router = page_router(
    "ops",
    STATIC_DIR,
    summary="Inbox with drafts, bookings and calendar, leads board, reviews, budget and audit per station.",
)
