"""The embedded backend: objects are files under one folder, served by the API through signed links.

A link is ``{PUBLIC_BASE_URL}/files/{key}?exp=<unix time>&sig=<HMAC>``; the HMAC
(keyed from the signing secret) covers the method, the key, the expiry and, for
uploads, the Content-Type, so a link cannot be stretched, moved or reused for
another verb. Content types live beside the data under ``.meta/`` (keys never
start with a dot, so that folder cannot collide with an object).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import mimetypes
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from conjure.storage.base import InvalidLinkSignature, LinkExpired, ObjectNotFound, check_key
from conjure.storage.uploads import PresignedUpload, UploadPolicy

META_DIR = ".meta"


class LinkSigner:
    """Makes and checks the HMAC signatures of ``/files`` links."""

    def __init__(self, secret: str) -> None:
        # A key of its own, so a link signature can never double as a token signature.
        self._key = hmac.new(secret.encode(), b"conjure-storage-link-v1", hashlib.sha256).digest()

    def sign(self, method: str, key: str, expires_at: int, content_type: str = "") -> str:
        message = f"{method.upper()}\n{key}\n{expires_at}\n{content_type}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(
        self,
        method: str,
        key: str,
        expires_at: int,
        signature: str,
        content_type: str = "",
        *,
        now: float | None = None,
    ) -> None:
        """Raise :class:`InvalidLinkSignature` or :class:`LinkExpired` unless the link is good now."""
        expected = self.sign(method, key, expires_at, content_type)
        # Bytes, not str: compare_digest refuses non-ASCII strings with a TypeError (a 500 for any
        # link whose signature a client mangled); as bytes they are simply a wrong signature.
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogateescape")):
            raise InvalidLinkSignature("This link is not valid.")
        if (time.time() if now is None else now) > expires_at:
            raise LinkExpired("This link has expired; ask for a new one.")


class LocalObjectStore:
    """Objects as files under ``root``; blocking file I/O runs in a thread."""

    def __init__(self, root: Path, *, secret: str, base_url: str) -> None:
        self.root = root.resolve()
        self.signer = LinkSigner(secret)
        self.base_url = base_url.rstrip("/")

    def path_for(self, key: str) -> Path:
        """The file that holds ``key`` (the key is checked, so the path stays under root)."""
        return self.root / check_key(key)

    def _meta_path(self, key: str) -> Path:
        return self.root / META_DIR / check_key(key)

    def content_type_of(self, key: str) -> str:
        """The Content-Type the object was stored with (guessed from the name if unknown)."""
        try:
            return self._meta_path(key).read_text().strip()
        except FileNotFoundError:
            return mimetypes.guess_type(key)[0] or "application/octet-stream"

    async def ping(self) -> None:
        def check() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                raise PermissionError(f"{self.root} is not writable")

        await asyncio.to_thread(check)

    async def put(self, key: str, data: bytes, *, content_type: str, encrypt: bool = False) -> None:
        # ``encrypt`` asks a bucket for server-side encryption; a local folder has none to give.
        path, meta = self.path_for(key), self._meta_path(key)
        await asyncio.to_thread(_write_atomically, path, data)
        await asyncio.to_thread(_write_atomically, meta, content_type.encode())

    async def get(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectNotFound("No such object.") from None

    async def delete(self, key: str) -> None:
        for path in (self.path_for(key), self._meta_path(key)):
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_for(key).is_file)

    async def presigned_get_url(self, key: str, *, expires_seconds: int) -> str:
        return self._link("GET", check_key(key), expires_seconds, "")

    async def presigned_put_url(self, key: str, *, content_type: str, expires_seconds: int) -> str:
        return self._link("PUT", check_key(key), expires_seconds, content_type)

    async def presigned_upload(self, policy: UploadPolicy) -> PresignedUpload:
        """A signed ``PUT /files/{key}`` link whose signature also covers the allowed size range."""
        key = check_key(policy.key)
        size = upload_size_range(policy.min_bytes, policy.max_bytes)
        signed = upload_signed_type(policy.content_type, size)
        url = self._link("PUT", key, policy.expires_seconds, signed, extra={"size": size})
        expires_at = int(url.split("exp=", 1)[1].split("&", 1)[0])
        return PresignedUpload(
            method="PUT",
            url=url,
            key=key,
            headers={"Content-Type": policy.content_type},
            expires_at=dt.datetime.fromtimestamp(expires_at, dt.UTC),
        )

    async def close(self) -> None:
        return None

    def _link(
        self,
        method: str,
        key: str,
        expires_seconds: int,
        content_type: str,
        extra: dict[str, str] | None = None,
    ) -> str:
        expires_at = int(time.time()) + expires_seconds
        params = {"exp": expires_at, **(extra or {})}
        params["sig"] = self.signer.sign(method, key, expires_at, content_type)
        return f"{self.base_url}/files/{quote(key)}?{urlencode(params)}"


def upload_size_range(min_bytes: int, max_bytes: int) -> str:
    """The ``size`` query value of an upload link: ``MIN-MAX`` bytes."""
    return f"{min_bytes}-{max_bytes}"


def upload_signed_type(content_type: str, size: str | None) -> str:
    """What a PUT link's signature covers besides method, key and expiry: the type, and a size range."""
    return content_type if size is None else f"{content_type}\nsize={size}"


def _write_atomically(path: Path, data: bytes) -> None:
    # Write a temporary file and rename it, so a reader never sees half an object.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
