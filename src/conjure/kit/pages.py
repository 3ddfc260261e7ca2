"""An app's page: ``/<name>`` serves its HTML and ``/<name>/static`` its assets (no build step).

Every page carries the same strict Content-Security-Policy (scripts and styles only from this
API); an app adds sources per directive, and may let the object store's origin in where the
page shows or uploads stored objects (photos, audio).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

BASE_POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'self'",
}


def content_security_policy(extra: Mapping[str, str] | None = None) -> str:
    """The base policy with ``extra`` sources added to (or directives added beside) its own."""
    policy = dict(BASE_POLICY)
    for directive, sources in (extra or {}).items():
        policy[directive] = f"{policy[directive]} {sources}" if directive in policy else f"'self' {sources}"
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


async def storage_origin(request: Request, probe: str) -> str:
    """The scheme://host[:port] the store's signed links point at (this API's for the local store)."""
    url = await request.app.state.runtime.storage.presigned_get_url(probe, expires_seconds=60)
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def page_router(
    name: str,
    static_dir: Path,
    *,
    extra: Mapping[str, str] | None = None,
    storage_in: Sequence[str] = (),
    summary: str = "",
) -> APIRouter:
    """``/<name>`` (``<name>.html`` from ``static_dir``) and ``/<name>/static``; the store's origin
    is added to the directives in ``storage_in``."""
    router = APIRouter(include_in_schema=False)
    router.mount(f"/{name}/static", StaticFiles(directory=static_dir), name=f"{name}-static")
    fixed = content_security_policy(extra)

    async def page(request: Request) -> FileResponse:
        policy = fixed
        if storage_in:
            origin = await storage_origin(request, f"{name}/origin-probe")
            merged = dict(extra or {})
            for directive in storage_in:
                merged[directive] = f"{merged.get(directive, '')} {origin}".strip()
            policy = content_security_policy(merged)
        headers = {"content-security-policy": policy, "cache-control": "no-cache"}
        return FileResponse(static_dir / f"{name}.html", headers=headers)

    page.__doc__ = summary
    router.add_api_route(f"/{name}", page, methods=["GET", "HEAD"], name=f"{name}-page")
    return router
