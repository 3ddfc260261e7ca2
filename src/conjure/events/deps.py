"""``SseSlot``: the dependency every SSE route takes, holding one of the user's stream slots."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from redis.exceptions import RedisError

from conjure.auth.deps import CurrentPrincipal
from conjure.deps import RuntimeDep
from conjure.errors import TemporarilyUnavailable
from conjure.events.service import TooManyStreams

UNAVAILABLE_RETRY_SECONDS = 5


async def hold_sse_slot(principal: CurrentPrincipal, runtime: RuntimeDep) -> AsyncIterator[str]:
    """Take a slot for the stream's whole life, 429 ``too_many_streams`` beyond the cap.

    A ``yield`` dependency (request scope) ends after the response does, so the slot is
    released when the stream ends or the client goes away.
    """
    slots = runtime.sse_slots
    try:
        lease = await slots.acquire(principal.user_id)
    except (RedisError, OSError) as exc:
        raise TemporarilyUnavailable(
            "Event streams are unavailable for a moment; try again shortly.",
            retry_after=UNAVAILABLE_RETRY_SECONDS,
        ) from exc
    if lease is None:
        # A slot frees when one of the user's streams closes, or, if a process holding one
        # died, when its lease expires: at the latest after this long.
        retry = str(math.ceil(runtime.settings.sse_lease_seconds))
        raise TooManyStreams(
            f"You already have {slots.limit} event streams open; close one to open another.",
            headers={"Retry-After": retry},
        )
    try:
        yield lease
    finally:
        with contextlib.suppress(RedisError, OSError):
            # Shielded: a disconnect may cancel the request task while it cleans up.
            await asyncio.shield(slots.release(principal.user_id, lease))


SseSlot = Annotated[str, Depends(hold_sse_slot)]
