"""The ``/staging`` page and its assets (plain HTML + an ES module, no build step).

Its Content-Security-Policy lets the page talk to one more origin than the API's:
the object store's, where photos are uploaded straight to and shown from.
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
router.mount("/staging/static", StaticFiles(directory=STATIC_DIR), name="staging-static")


async def storage_origin(runtime: RuntimeDep) -> str:
    """The scheme://host[:port] the store's signed links point at (this API's for the local store)."""
    url = await runtime.storage.presigned_get_url("staging/origin-probe", expires_seconds=60)
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(storage: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob: {storage}",
            f"connect-src 'self' {storage}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


@router.api_route("/staging", methods=["GET", "HEAD"])
async def staging_page(runtime: RuntimeDep) -> FileResponse:
    """Projects, direct uploads, staging with live status, before/after."""
    headers = {
        "content-security-policy": content_security_policy(await storage_origin(runtime)),
        "cache-control": "no-cache",
    }
    return FileResponse(STATIC_DIR / "staging.html", headers=headers)
