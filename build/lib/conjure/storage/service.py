"""Make the object store ``STORAGE_URL`` names: a local folder (embedded) or an S3 bucket.

The protocol and the errors live in :mod:`conjure.storage.base` (below both backends,
so neither imports this module); they are re-exported here for callers that name the
service.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from conjure.settings import Settings
from conjure.storage.base import (
    MAX_KEY_LENGTH,
    InvalidObjectKey,
    ObjectNotFound,
    ObjectStore,
    check_key,
)
from conjure.storage.local import LocalObjectStore

__all__ = [
    "MAX_KEY_LENGTH",
    "InvalidObjectKey",
    "ObjectNotFound",
    "ObjectStore",
    "check_key",
    "make_storage",
]


def make_storage(settings: Settings) -> ObjectStore:
    """The backend ``settings.resolved_storage_url`` names: ``file://path`` or ``s3://bucket[/prefix]``."""
    url = settings.resolved_storage_url
    scheme = urlsplit(url).scheme
    if scheme == "s3":
        # Deferred: aioboto3 takes seconds to import, which embedded mode never needs to pay.
        from conjure.storage.s3 import S3ObjectStore

        return S3ObjectStore.from_settings(settings)
    if scheme in ("file", ""):
        return LocalObjectStore(
            Path(url.removeprefix("file://")),
            secret=settings.signing_secret,
            base_url=settings.public_base_url,
        )
    raise ValueError(f"STORAGE_URL must start with file:// or s3://, not {scheme}://")
