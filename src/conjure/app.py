"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.telemetry import TelemetryConfig

from conjure import __version__
from conjure.announcements import PLANS_CHANGED, USERS_FORGOTTEN, UserCache, listen
from conjure.apps import installed_apps
from conjure.auth.deps import known_users_of
from conjure.dbfaults import DatabaseFaultMiddleware
from conjure.errors import install_error_handlers
from conjure.health import router as health_router
from conjure.kit.contract import ContractMiddleware, install_contract
from conjure.kit.docs import install_docs
from conjure.kit.hotpath import HotPathMiddleware
from conjure.kit.spec import AppSpec
from conjure.observability.logging import configure_logging
from conjure.observability.middleware import (
    BodySizeLimitMiddleware,
    GzipWhenAccepted,
    ObserveMiddleware,
    RequestIdMiddleware,
)
from conjure.observability.setup import start_observability
from conjure.observability.tracing import instrument_app, instrument_engine, tracing_enabled
from conjure.runtime import Runtime
from conjure.settings import Settings

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
HSTS = "max-age=31536000; includeSubDomains"
GZIP_MINIMUM_BYTES = 1024


def platform_routers() -> list[APIRouter]:
    """The platform's own routers, in the order they appear in the docs."""
    from conjure.auth.router import router as auth_router
    from conjure.billing.router import router as billing_router
    from conjure.channels.router import router as channels_router
    from conjure.console.router import router as console_router
    from conjure.events.router import router as events_router
    from conjure.jobs.router import router as jobs_router
    from conjure.payments.router import router as payments_router
    from conjure.reports.router import router as reports_router
    from conjure.storage.router import router as files_router
    from conjure.users.router import router as users_router
    from conjure.wallet.router import router as wallet_router
    from conjure.web.router import router as web_router

    return [
        health_router,
        auth_router,
        users_router,
        wallet_router,
        payments_router,
        billing_router,
        jobs_router,
        console_router,
        events_router,
        reports_router,
        files_router,
        channels_router,
        web_router,
    ]


@asynccontextmanager
async def listening_for_announcements(app: FastAPI) -> AsyncIterator[None]:
    """This process forgets deleted users and changed plans as they are announced while it serves
    (:mod:`conjure.announcements`)."""
    runtime: Runtime = app.state.runtime
    if runtime.redis is None:
        yield
        return
    caches: dict[str, UserCache] = {USERS_FORGOTTEN: known_users_of(app.state)}
    if runtime.plan_cache is not None:
        caches[PLANS_CHANGED] = runtime.plan_cache
    task = asyncio.create_task(listen(runtime.redis, caches))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    apps: list[AppSpec] | None = None,
    embedded_worker: bool = False,
) -> FastAPI:
    """Build the API; ``embedded_worker`` also runs the worker and scheduler in-process (``conjure up``).

    ``apps`` defaults to :func:`conjure.apps.installed_apps`; their routes are mounted here
    and their job kinds registered on the runtime (a given one, or the one the lifespan starts).
    """
    settings = settings or (runtime.settings if runtime else Settings())
    apps = installed_apps() if apps is None else apps
    if runtime is not None:
        runtime.install(apps)
    configure_logging(json_logs=settings.is_production, level=settings.log_level)
    start_observability(settings, role="up" if embedded_worker else "api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = runtime is None
        app.state.runtime = runtime or await Runtime.start(settings, apps=apps)
        instrument_engine(app.state.runtime.db.engine)
        stop_worker = None
        if embedded_worker:
            from conjure.jobs.worker import start_embedded

            stop_worker = await start_embedded(app.state.runtime)
        # Everything built so far (routes, models, SQLAlchemy mappers) lives as long as the
        # process: move it out of the collector's reach, so full collections stop re-scanning it.
        gc.collect()
        gc.freeze()
        try:
            async with listening_for_announcements(app):
                yield
        finally:
            if stop_worker is not None:
                await stop_worker()
            if own:
                await app.state.runtime.close()

    # /docs and /redoc come from install_docs (assets served here, not from a CDN).
    # FastAPI's native OpenTelemetry checks the global providers (environment lookups) on every
    # request even when none is set; Conjure's tracing (observability/tracing.py) instruments the
    # app itself when it is on, so the native one is switched off when it is not.
    quiet: TelemetryConfig | None = None
    if not tracing_enabled():
        quiet = TelemetryConfig(tracing=False, metrics=False, logs=False)
    app = FastAPI(
        title="Conjure",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=quiet,
    )
    if runtime is not None:
        # Available at once, so an in-memory ASGI client works without running the lifespan.
        app.state.runtime = runtime
    install_error_handlers(app)
    # Apps first: Starlette tries routes in order, and the apps' submit and poll routes are
    # the bulk of the traffic (matching ~70 platform routes first was a tenth of a poll's CPU).
    # No app path overlaps a platform path, so the order changes no route's meaning.
    for spec in apps:
        for router in spec.routers:
            app.include_router(router)
    for router in platform_routers():
        app.include_router(router)
    install_contract(app)
    install_docs(app)

    security_headers = dict(SECURITY_HEADERS)
    if settings.is_production:
        # Only behind TLS (production/staging); on plain-http development it would stick in browsers.
        security_headers["strict-transport-security"] = HSTS
    # Innermost: the hot routes' usual requests served without FastAPI's per-request machinery.
    app.add_middleware(HotPathMiddleware, fastapi_app=app)
    # A request whose transaction hit 40001/40P01 runs again, an unreachable database answers
    # 503, before the observing middleware sees (and logs) the outcome.
    app.add_middleware(DatabaseFaultMiddleware)
    app.add_middleware(ContractMiddleware, routes=app.routes)
    # Inside the observing layer, so a 413 carries the request id and security headers like any answer.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        larger_limits={"/files/": settings.max_upload_bytes},
    )
    # Large JSON (results, lists, the OpenAPI document) gzipped for clients that accept it;
    # Starlette's middleware leaves event streams alone.
    app.add_middleware(GzipWhenAccepted, minimum_size=GZIP_MINIMUM_BYTES)
    app.add_middleware(ObserveMiddleware, security_headers=security_headers)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "X-Request-ID"],
        expose_headers=[
            "X-Request-ID",
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
        ],
    )
    app.add_middleware(RequestIdMiddleware)
    # Outermost: the server span covers the whole request (a no-op unless tracing is on).
    instrument_app(app)
    return app
