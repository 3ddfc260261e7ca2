"""The ``/assistant`` page and its assets (plain HTML + an ES module, no build step).

Its Content-Security-Policy lets the page reach one more origin than the API's: the object
store's, where meditation audio is played from (and delegated images are shown from).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from conjure.deps import RuntimeDep

STATIC_DIR = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)
router.mount("/assistant/static", StaticFiles(directory=STATIC_DIR), name="assistant-static")


async def storage_origin(runtime: RuntimeDep) -> str:
    url = await runtime.storage.presigned_get_url("assistant/origin-probe", expires_seconds=60)
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(storage: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: {storage}",
            f"media-src 'self' {storage}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


@router.api_route("/assistant", methods=["GET", "HEAD"])
async def assistant_page(runtime: RuntimeDep) -> FileResponse:
    """Conversations with the answer streaming in, the model badge, memories, meditations."""
    headers = {
        "content-security-policy": content_security_policy(await storage_origin(runtime)),
        "cache-control": "no-cache",
    }
    return FileResponse(STATIC_DIR / "assistant.html", headers=headers)
