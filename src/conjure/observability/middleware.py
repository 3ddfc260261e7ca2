"""Pure ASGI middleware: request ids on every response and log line, a body size limit, and the 500s.

An unexpected exception is rendered as the 500 problem by :class:`ObserveMiddleware`, inside the
request-id and CORS layers, so a 500 carries the request id, the security headers and one
``unhandled_error`` log line bound to the request id, like any other response. Starlette's own
catch-all (``errors.py``) runs outside every middleware and re-raises to the server, which logs
the traceback a second time; it is left for failures of the outer middleware itself.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conjure.errors import problem
from conjure.observability.errors import report_exception
from conjure.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = structlog.get_logger("conjure.errors")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Take a safe incoming X-Request-ID or make one; bind it for logs; echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")


class BodySizeLimitMiddleware:
    """Refuse bodies over the limit with 413, by Content-Length or by counting a stream.

    ``larger_limits`` maps path prefixes (direct file uploads) to their own limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, larger_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.larger_limits = larger_limits or {}

    def _limit_for(self, path: str) -> int:
        for prefix, limit in self.larger_limits.items():
            if path.startswith(prefix):
                return limit
        return self.default_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit_for(scope["path"])
        declared, chunked = _body_headers(scope)
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await self._reject(scope, receive, send, max_bytes)
            return
        if not chunked:
            # No body, or one whose declared length (checked above) the server holds it to: nothing
            # to count, so the request skips the receive and send wrappers below.
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send, max_bytes)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        """Run the app on a streamed body, counting it; 413 once it passes ``max_bytes``."""
        seen = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    # Look like a client that went away, so the app stops reading;
                    # whatever it answers is replaced by the 413 below.
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not too_large:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large:
            await self._reject(scope, receive, send, max_bytes)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        response = problem(413, "request_too_large", f"The request body is larger than {max_bytes} bytes.")
        await response(scope, receive, send)


def _body_headers(scope: Scope) -> tuple[bytes | None, bool]:
    """The request's ``Content-Length`` (if any) and whether it is sent chunked."""
    declared: bytes | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            declared = value
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked


class ObserveMiddleware:
    """Count and time each request by route template, add the security headers, render 500s.

    Pure ASGI on purpose: Starlette's ``BaseHTTPMiddleware`` (``@app.middleware``) runs
    every request in an extra task with memory streams, which cost a measurable share
    of a request's CPU under load (see docs/bench.md).
    """

    def __init__(self, app: ASGIApp, security_headers: dict[str, str]) -> None:
        self.app = app
        self.security_headers = [(k.encode(), v.encode()) for k, v in security_headers.items()]
        # The metric series per (method, route, status), looked up once: ``labels()`` takes a lock
        # and builds its key on every call (a noticeable share of a poll's middleware time).
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _observe(self, method: str, path: str, status: int, seconds: float) -> None:
        series = self._series.get((method, path, status))
        if series is None:
            if len(self._series) > 10_000:  # routes are templates; only odd methods could grow this
                self._series.clear()
            series = HTTP_REQUESTS.labels(method, path, str(status)), HTTP_LATENCY.labels(method, path)
            self._series[(method, path, status)] = series
        series[0].inc()
        series[1].observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        response_started = False

        async def send_observed(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                # Measured to the response start (as before), so a long SSE stream is not one slow request.
                path = getattr(scope.get("route"), "path", "unmatched")
                self._observe(scope["method"], path, message["status"], time.perf_counter() - started)
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((k, v) for k, v in self.security_headers if k not in present)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        except Exception as exc:
            if response_started:
                raise  # too late for a problem body; the server closes the connection
            log.exception("unhandled_error", path=scope["path"], error_type=type(exc).__name__)
            report_exception(
                exc,
                route=getattr(scope.get("route"), "path", "unmatched"),
                method=scope["method"],
                request_id=scope.get("state", {}).get("request_id", ""),
            )
            response = problem(500, "internal_error", "Something went wrong on our side; it has been logged.")
            await response(scope, receive, send_observed)


class GzipWhenAccepted:
    """Starlette's gzip for clients that accept it; everyone else goes straight to the app.

    Starlette's own middleware wraps every response (an identity responder) even for clients
    that never ask for gzip (load balancers' probes, most API clients), a cost paid per request.
    """

    def __init__(self, app: ASGIApp, minimum_size: int) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"accept-encoding" and b"gzip" in value:
                    await self.gzip(scope, receive, send)
                    return
        await self.app(scope, receive, send)
