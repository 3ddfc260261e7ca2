"""Direct uploads: a short-lived, signed request a client sends its file with, straight to the store.

Both backends answer with the same :class:`PresignedUpload`: S3 a presigned POST
(form ``fields`` + the file as the last form part, the bucket checks the policy),
the local store a signed ``PUT /files/{key}`` (the API checks the same policy).
A client follows ``method``: POST sends ``fields`` and then ``file`` as a multipart
form, PUT sends the raw bytes with ``headers``; it never needs to know the store.
The policy is the same on both: this exact key, this Content-Type, a size range,
an expiry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from conjure.errors import ConjureError, Forbidden


class UploadTooLarge(ConjureError):
    code, status = "upload_too_large", 413


class UploadTooSmall(ConjureError):
    code, status = "upload_too_small", 400


class UploadPolicyViolation(Forbidden):
    code = "upload_policy_violation"


@dataclass(frozen=True)
class UploadPolicy:
    """What an upload must be: its key, Content-Type and size range, and until when it may happen."""

    key: str
    content_type: str
    max_bytes: int
    expires_seconds: int
    min_bytes: int = 1


@dataclass(frozen=True)
class PresignedUpload:
    """How a client sends one file to the store (the response of a presign endpoint)."""

    method: Literal["POST", "PUT"]
    url: str
    key: str
    expires_at: dt.datetime
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
