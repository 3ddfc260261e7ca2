"""Serve and accept objects of the local backend through signed, expiring links (embedded mode only).

With an S3 store, presigned URLs point at the bucket and these routes answer 404.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from conjure.deps import RuntimeDep
from conjure.storage.base import ObjectNotFound
from conjure.storage.local import LocalObjectStore, upload_signed_type
from conjure.storage.uploads import UploadTooLarge, UploadTooSmall

router = APIRouter(tags=["storage"])

_SIGNED_LINK_ERRORS: dict[int | str, dict[str, str]] = {
    403: {"description": "The link is expired or its signature is wrong"},
    404: {"description": "No such object, or storage is not local"},
}
_UPLOAD_ERRORS: dict[int | str, dict[str, str]] = {
    **_SIGNED_LINK_ERRORS,
    400: {"description": "Fewer bytes than the link's size range allows"},
    413: {"description": "More bytes than the link's size range allows"},
}


def _local_store(runtime: RuntimeDep) -> LocalObjectStore:
    store = runtime.storage
    if not isinstance(store, LocalObjectStore):
        raise ObjectNotFound("No such object.")
    return store


@router.get("/files/{key:path}", responses=_SIGNED_LINK_ERRORS, response_class=FileResponse)
async def download_file(
    key: str,
    runtime: RuntimeDep,
    exp: Annotated[int, Query()],
    sig: Annotated[str, Query(max_length=128)],
) -> Response:
    """Download an object through a signed link made by the local store."""
    store = _local_store(runtime)
    store.signer.verify("GET", key, exp, sig)
    path = store.path_for(key)
    if not path.is_file():
        raise ObjectNotFound("No such object.")
    # The link is the credential: let browsers cache it no longer than it is valid.
    max_age = max(0, exp - int(time.time()))
    return FileResponse(
        path,
        media_type=store.content_type_of(key),
        headers={"Cache-Control": f"private, max-age={max_age}"},
    )


@router.put("/files/{key:path}", status_code=204, responses=_UPLOAD_ERRORS)
async def upload_file(
    key: str,
    request: Request,
    runtime: RuntimeDep,
    exp: Annotated[int, Query()],
    sig: Annotated[str, Query(max_length=128)],
    size: Annotated[str | None, Query(pattern=r"^[0-9]{1,12}-[0-9]{1,12}$")] = None,
) -> Response:
    """Upload an object through a signed PUT link (the Content-Type, and a size range if signed, enforced)."""
    store = _local_store(runtime)
    content_type = request.headers.get("content-type", "")
    store.signer.verify("PUT", key, exp, sig, upload_signed_type(content_type, size))
    if size is None:
        data = await request.body()
    else:
        low, high = (int(part) for part in size.split("-"))
        data = await _body_within(request, high)
        if len(data) < low:
            raise UploadTooSmall(f"The upload must be at least {low} bytes.")
    await store.put(key, data, content_type=content_type)
    return Response(status_code=204)


async def _body_within(request: Request, max_bytes: int) -> bytes:
    """The request body, refused as soon as it passes ``max_bytes`` (a lying Content-Length included)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise UploadTooLarge(f"The upload must be at most {max_bytes} bytes.")
    chunks, seen = [], 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > max_bytes:
            raise UploadTooLarge(f"The upload must be at most {max_bytes} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
