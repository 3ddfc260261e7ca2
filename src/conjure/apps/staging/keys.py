"""Object keys of the staging app (seed 001's layout): ``staged/user_{id}/…`` (the originals are the
platform's uploads, ``uploads/user_{id}/…``: :func:`conjure.storage.base.upload_key`)."""

from __future__ import annotations

import uuid


def staged_keys(user_id: uuid.UUID | None, job_id: uuid.UUID) -> dict[str, str]:
    """What one staging job stores: the display copy of the original, the staged image, thumbnails."""
    base = f"staged/user_{user_id or 'system'}/{job_id}"
    return {
        "display_key": f"{base}-original.jpg",
        "thumbnail_key": f"{base}-original-thumb.jpg",
        "staged_key": f"{base}.jpg",
        "staged_thumbnail_key": f"{base}-thumb.jpg",
    }
