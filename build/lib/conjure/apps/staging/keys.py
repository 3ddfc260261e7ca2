"""Object keys of the staging app (seed 001's layout): ``uploads/user_{id}/…`` and ``staged/user_{id}/…``."""

from __future__ import annotations

import uuid

from conjure.storage.service import InvalidObjectKey, check_key


def upload_key(user_id: uuid.UUID, extension: str) -> str:
    """Where a user's next original photo goes."""
    return f"uploads/user_{user_id}/{uuid.uuid4()}.{extension}"


def owns_upload(user_id: uuid.UUID, key: str) -> bool:
    """Whether ``key`` is a well-formed key of this user's uploads (another user's key is not)."""
    try:
        check_key(key)
    except InvalidObjectKey:
        return False
    prefix = f"uploads/user_{user_id}/"
    return key.startswith(prefix) and "/" not in key[len(prefix) :]


def staged_keys(user_id: uuid.UUID | None, job_id: uuid.UUID) -> dict[str, str]:
    """What one staging job stores: the display copy of the original, the staged image, thumbnails."""
    base = f"staged/user_{user_id or 'system'}/{job_id}"
    return {
        "display_key": f"{base}-original.jpg",
        "thumbnail_key": f"{base}-original-thumb.jpg",
        "staged_key": f"{base}.jpg",
        "staged_thumbnail_key": f"{base}-thumb.jpg",
    }
