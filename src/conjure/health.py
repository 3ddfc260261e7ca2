"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
from typing import TYPE_CHECKING, Annotated

import structlog
from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from conjure.ai.breaker import breaker_warnings
from conjure.deps import RuntimeDep
from conjure.errors import PROBLEM_JSON, NotFound, Unauthorized
from conjure.observability.gauges import refresh_scrape_gauges

if TYPE_CHECKING:
    from conjure.settings import Settings

router = APIRouter(tags=["health"])
log = structlog.get_logger("conjure.health")
READY_TIMEOUT_SECONDS = 3.0


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process is up."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "A dependency is down"}})
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: database, broker and storage answer."""

    async def database() -> None:
        async with runtime.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    checks = {"database": database, "broker": runtime.broker.ping, "storage": runtime.storage.ping}
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), READY_TIMEOUT_SECONDS)
            results[name] = "ok"
        except Exception as exc:
            log.warning("ready_check_failed", check=name, error_type=type(exc).__name__)
            results[name] = "failed"
    # Open provider breakers are warnings, not failures: jobs needing them wait, the rest run.
    warnings = [*await _broker_warnings(runtime), *breaker_warnings()]
    results.update(await _app_checks(runtime))
    # An app's "warming" (a model still loading) is reported, not a failure.
    failed = [name for name, state in results.items() if state not in ("ok", "warming")]
    if failed:
        body = {
            "type": "https://conjure.dev/problems/not_ready",
            "title": "Service Unavailable",
            "status": 503,
            "code": "not_ready",
            "detail": f"Not ready: {', '.join(failed)} failed.",
            "checks": results,
        }
        return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)
    return JSONResponse({"status": "ready", "checks": results, "warnings": warnings})


async def _app_checks(runtime: RuntimeDep) -> dict[str, str]:
    """The apps' own checks (AppSpec.ready_checks), e.g. the assistant's model warm-up."""
    results: dict[str, str] = {}
    for app in runtime.apps:
        for name, app_check in app.ready_checks.items():
            try:
                state = await asyncio.wait_for(app_check(runtime.settings), READY_TIMEOUT_SECONDS)
            except Exception as exc:
                log.warning("ready_check_failed", check=name, error_type=type(exc).__name__)
                state = "failed"
            if state is not None:
                results[name] = state
    return results


async def _broker_warnings(runtime: RuntimeDep) -> list[str]:
    check = getattr(runtime.broker, "config_warnings", None)
    if check is None:
        return []
    try:
        warnings: list[str] = await check()
    except Exception:
        return []
    return warnings


class MetricsUnauthorized(Unauthorized):
    code = "metrics_unauthorized"


def check_metrics_access(settings: Settings, authorization: str | None) -> None:
    """Who may read the API's metrics (queue depths, routes, breakers: an operator's view):
    the holder of ``METRICS_TOKEN``; nobody in production without one; anyone in development."""
    token = settings.metrics_token
    if token is None:
        if settings.is_production:
            raise NotFound("Not found.")
        return
    scheme, _, given = (authorization or "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise MetricsUnauthorized("The metrics need Authorization: Bearer <METRICS_TOKEN>.")


@router.get("/metrics", include_in_schema=False)
async def metrics(runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None) -> Response:
    """Prometheus text exposition."""
    check_metrics_access(runtime.settings, authorization)
    await refresh_scrape_gauges(runtime)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
