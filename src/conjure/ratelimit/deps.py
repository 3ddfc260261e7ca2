"""Rate-limit dependencies: per principal (``rate_limit``, ``limit_new_requests``), per IP
(``limit_by_ip``), per device.

    @router.post("/api/generation", dependencies=[Depends(rate_limit("generation", "rate_limit_generation"))])

Every authenticated request already counts against ``RATE_LIMIT_DEFAULT`` (in ``CurrentUser``);
these add a tighter limit for one route, keyed by the person (all their credentials share it).
While Redis is down each follows the route's outage policy (``conjure.ratelimit.policy``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import Request, Response

from conjure.auth.deps import CurrentPrincipal, client_ip
from conjure.deps import RuntimeDep
from conjure.ratelimit.policy import outage_policy

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

LimitDependency = Callable[..., Awaitable[None]]
# Whether the caller (a user id) already made the request this Idempotency-Key (the str) names,
# so the route will answer it from what it stored; it reads in the session it is given.
ReplayCheck = Callable[["AsyncSession", Request, uuid.UUID, str], Awaitable[bool]]
IDEMPOTENCY_HEADER = "Idempotency-Key"


def rate_limit(scope: str, setting: str) -> LimitDependency:
    """A dependency limiting the caller to ``getattr(settings, setting)`` requests in ``scope``."""

    async def limit_principal(
        principal: CurrentPrincipal, request: Request, response: Response, runtime: RuntimeDep
    ) -> None:
        spec: str = getattr(runtime.settings, setting)
        policy = outage_policy(request)
        state = await runtime.limiter.hit(scope, principal.rate_key, spec, on_outage=policy)
        if state is not None:
            response.headers.update(state.headers())

    return limit_principal


def limit_new_requests(scope: str, setting: str, replayed: ReplayCheck) -> LimitDependency:
    """``rate_limit`` that a replay does not spend: a request whose ``Idempotency-Key`` names one
    the caller already made (``replayed`` says so) is answered from what that one stored and makes
    no new work, so a client retrying safely after a dropped connection is not refused with a 429.
    Requests without a key or with a new one count, and so do those the route then refuses (a
    422 included). One short read, only for requests that carry a key."""
    limit = rate_limit(scope, setting)

    async def limit_unless_replay(
        principal: CurrentPrincipal, request: Request, response: Response, runtime: RuntimeDep
    ) -> None:
        # Read as sent: the route validates the header; a malformed key finds nothing and counts.
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key:
            async with runtime.db.session() as session:
                if await replayed(session, request, principal.user_id, key):
                    return
        await limit(principal, request, response, runtime)

    return limit_unless_replay


def limit_by_ip(scope: str, setting: str) -> LimitDependency:
    """A dependency limiting each client IP (for routes used before anyone is signed in)."""

    async def limit_ip(request: Request, response: Response, runtime: RuntimeDep) -> None:
        spec: str = getattr(runtime.settings, setting)
        policy = outage_policy(request)
        state = await runtime.limiter.hit(scope, client_ip(request), spec, on_outage=policy)
        if state is not None:
            response.headers.update(state.headers())

    return limit_ip


DEVICE_HEADER = "X-Device-Id"


def limit_by_device(scope: str, setting: str) -> LimitDependency:
    """A dependency limiting each device that names itself in ``X-Device-Id`` (optional).

    The header is the client's own fingerprint (an install id, a browser fingerprint): a
    request without it is limited per IP only. The value is hashed, so any length or
    content makes one bounded key and is never stored as sent.
    """

    async def limit_device(request: Request, response: Response, runtime: RuntimeDep) -> None:
        device = request.headers.get(DEVICE_HEADER, "").strip()
        if not device:
            return
        spec: str = getattr(runtime.settings, setting)
        key = "device:" + hashlib.sha256(device.encode()).hexdigest()[:32]
        state = await runtime.limiter.hit(scope, key, spec, on_outage=outage_policy(request))
        if state is not None:
            response.headers.update(state.headers())

    return limit_device
