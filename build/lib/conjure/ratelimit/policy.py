"""Which outage policy a route's rate limits follow while Redis is down, declared on the route.

    @router.post("/api/v1/payment/create-intent", openapi_extra=on_outage(Outage.CLOSED))

A route that declares nothing gets the policy of its method: ``GET``/``HEAD``/``OPTIONS``
read and stay available (``open``); every other method writes, may start paid work, and
falls back to a per-process share of its limits (``local``). Routes that spend money or
call paid models declare ``closed`` (or ``local`` explicitly). The declaration lands in
the OpenAPI document as ``x-rate-limit-outage``, so clients see it too.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from conjure.ratelimit.service import Outage

OUTAGE_EXTENSION = "x-rate-limit-outage"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def on_outage(policy: Outage) -> dict[str, Any]:
    """``openapi_extra`` that declares a route's outage policy."""
    return {OUTAGE_EXTENSION: str(policy)}


def outage_policy(connection: HTTPConnection) -> Outage:
    """The matched route's declared policy, else its method's default."""
    route = connection.scope.get("route")
    declared = (getattr(route, "openapi_extra", None) or {}).get(OUTAGE_EXTENSION)
    if declared is not None:
        return Outage(declared)
    method = connection.scope.get("method", "GET")
    return Outage.OPEN if method in READ_METHODS else Outage.LOCAL
