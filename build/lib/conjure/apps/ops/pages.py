"""The ``/ops`` console and its assets (plain HTML + an ES module, no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)
router.mount("/ops/static", StaticFiles(directory=STATIC_DIR), name="ops-static")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)


@router.api_route("/ops", methods=["GET", "HEAD"])
async def ops_console() -> FileResponse:
    """Inbox with drafts, bookings and calendar, leads board, reviews, budget and audit per station."""
    return FileResponse(
        STATIC_DIR / "ops.html", headers={"content-security-policy": CSP, "cache-control": "no-cache"}
    )
