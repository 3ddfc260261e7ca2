"""Rate-limit dependencies: per principal for a route (``rate_limit``) and per IP (``limit_by_ip``).

    @router.post("/api/generation", dependencies=[Depends(rate_limit("generation", "rate_limit_generation"))])

Every authenticated request already counts against ``RATE_LIMIT_DEFAULT`` (in ``CurrentUser``);
these add a tighter limit for one route, keyed by the person (all their credentials share it).
While Redis is down each follows the route's outage policy (``conjure.ratelimit.policy``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from conjure.auth.deps import CurrentPrincipal, client_ip
from conjure.deps import RuntimeDep
from conjure.ratelimit.policy import outage_policy

LimitDependency = Callable[..., Awaitable[None]]


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


def limit_by_ip(scope: str, setting: str) -> LimitDependency:
    """A dependency limiting each client IP (for routes used before anyone is signed in)."""

    async def limit_ip(request: Request, response: Response, runtime: RuntimeDep) -> None:
        spec: str = getattr(runtime.settings, setting)
        policy = outage_policy(request)
        state = await runtime.limiter.hit(scope, client_ip(request), spec, on_outage=policy)
        if state is not None:
            response.headers.update(state.headers())

    return limit_ip
