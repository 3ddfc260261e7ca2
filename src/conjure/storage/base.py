"""What every object store offers, and the errors it raises: the layer both backends and the factory sit on.

Keys are relative, slash-separated names such as ``generations/<user>/<job>.png``.
Both backends give the same contract: put/get/delete/exists and time-limited
presigned GET and PUT URLs. The local backend's URLs point at this API's own
``/files/{key}`` route (HMAC-signed, expiring); the S3 backend's are real SigV4
presigned URLs that the client uses against the bucket directly.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Protocol

from conjure.errors import ConjureError, Forbidden, NotFound

if TYPE_CHECKING:
    from conjure.storage.uploads import PresignedUpload, UploadPolicy


class ObjectNotFound(NotFound):
    code = "object_not_found"


class InvalidObjectKey(ConjureError):
    code, status = "invalid_object_key", 400


class LinkExpired(Forbidden):
    """A local ``/files`` link used after its expiry."""

    code = "link_expired"


class InvalidLinkSignature(Forbidden):
    """A local ``/files`` link whose signature does not match its method, key, expiry or type."""

    code = "invalid_link_signature"


# Conservative on purpose: the same key must be a safe file path and a safe S3 key.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*$")
MAX_KEY_LENGTH = 512


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise :class:`InvalidObjectKey`."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.match(key) or ".." in key.split("/"):
        raise InvalidObjectKey("Object keys are slash-separated names of letters, digits, '.', '_', '-'.")
    return key


class ObjectStore(Protocol):
    """What every storage backend offers."""

    async def ping(self) -> None:
        """Raise if the store cannot be reached (used by ``/ready``)."""

    async def put(self, key: str, data: bytes, *, content_type: str, encrypt: bool = False) -> None:
        """Store ``data`` under ``key``, replacing any object there (``encrypt``: ask S3 for SSE)."""

    async def get(self, key: str) -> bytes:
        """The object's bytes; :class:`ObjectNotFound` if there is none."""

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    async def presigned_get_url(self, key: str, *, expires_seconds: int) -> str:
        """A URL anyone can GET the object with until it expires."""

    async def presigned_put_url(self, key: str, *, content_type: str, expires_seconds: int) -> str:
        """A URL a client can PUT the object to (with this Content-Type) until it expires."""

    async def presigned_upload(self, policy: UploadPolicy) -> PresignedUpload:
        """A signed request a client uploads one object with, the store enforcing ``policy``."""

    async def close(self) -> None:
        """Release connections."""


def upload_key(user_id: uuid.UUID, extension: str) -> str:
    """Where a user's next uploaded file goes (``uploads/user_{id}/…``: the prefix says whose it is)."""
    return f"uploads/user_{user_id}/{uuid.uuid4()}.{extension}"


def owns_upload(user_id: uuid.UUID, key: str) -> bool:
    """Whether ``key`` is a well-formed key of this user's uploads (another user's key never is)."""
    try:
        check_key(key)
    except InvalidObjectKey:
        return False
    prefix = f"uploads/user_{user_id}/"
    return key.startswith(prefix) and "/" not in key[len(prefix) :]
