"""Every failure the API can give, rendered as RFC 9457 problem details.

The tree (each leaf names its stable ``code``):

    ConjureError(code, status, message)
    ├── 400 bad_request, malformed_json, invalid_signature (webhooks), invalid_object_key (storage)
    │       invalid_reset_token      (auth: a password reset link expired, used or unknown)
    ├── 401 unauthorized, invalid_token, token_expired, invalid_credentials,
    │       invalid_refresh_token, refresh_token_reused, invalid_init_data   (auth)
    ├── 402 insufficient_stars, insufficient_coins
    ├── 403 forbidden, link_expired, invalid_link_signature   (storage /files links),
    │       reauthentication_required, wrong_password   (DELETE /api/v1/me),
    │       signed_in_required   (API keys made or revoked with an API key)
    ├── 404 not_found                (also: another user's resource), object_not_found,
    │       no_subscription, no_billing_account   (billing)
    ├── 405 method_not_allowed
    ├── 409 conflict, idempotency_key_reused, job_not_cancelable, job_not_retryable, email_taken,
    │       already_subscribed (billing),
    │       identity_in_use, provider_already_linked, last_identity   (linked sign-ins)
    ├── 413 request_too_large
    ├── 415 unsupported_media_type
    ├── 422 validation_error         (names the field in ``errors``), invalid_rate_limit,
    │       unknown_package (payments), unknown_plan (billing), unknown_job_kind, webhook_not_allowed (jobs),
    │       invalid_last_event_id (events),
    │       invalid_text             (text the database cannot store, e.g. NUL: dbfaults.py)
    ├── 429 rate_limited             (with Retry-After and RateLimit-* headers)
    │       too_many_streams         (events: SSE streams per user, with Retry-After)
    │       staging_quota_exhausted  (staging: the plan's photos this month, with Retry-After)
    ├── 500 internal_error           (a bug; no internals leak)
    ├── 502 payment_provider_error   (Stripe refused or failed)
    └── 503 not_ready, payments_not_configured, telegram_not_configured,
            service_unavailable      (TemporarilyUnavailable, with Retry-After: the database, or Redis
                                      for rate limits and event streams, is briefly away),
            payment_not_recorded     (a Stripe event for a payment not stored yet; Stripe retries)

Domains subclass ``ConjureError`` at the top of their ``service.py``.

A job that fails after its 202 reports its reason in the job's ``error.code`` (not an HTTP
status): ``question_not_allowed`` (tarot filter), ``model_output_invalid``, ``model_rejected``,
``ai_not_configured`` (permanent) and ``model_unavailable``, ``timeout`` (retried, then ``dlq``)
from ``conjure.ai``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("conjure.errors")


class ConjureError(Exception):
    """A business failure with a stable code; subclasses set defaults."""

    code: str = "bad_request"
    status: int = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}
        self.extra = extra or {}


class NotFound(ConjureError):
    code, status = "not_found", 404


class Unauthorized(ConjureError):
    code, status = "unauthorized", 401


class Forbidden(ConjureError):
    code, status = "forbidden", 403


class Conflict(ConjureError):
    code, status = "conflict", 409


class ServiceUnavailable(ConjureError):
    code, status = "not_ready", 503


class TemporarilyUnavailable(ServiceUnavailable):
    """503 ``service_unavailable`` with ``Retry-After``: something the request needs (the database,
    Redis) is briefly away, so the client should try again after ``retry_after`` seconds."""

    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build a problem+json response."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {
        "type": f"https://conjure.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def problem_of(exc: ConjureError) -> JSONResponse:
    """``exc`` as its problem+json response (the handler's, and a middleware's that answers itself)."""
    return problem(exc.status, exc.code, exc.message, headers=exc.headers, **exc.extra)


async def _conjure_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConjureError)
    return problem_of(exc)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette's 405 names only the first route's)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex, served = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and served and regex.match(request.url.path):
            methods |= set(served)
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No such resource."
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    return problem(exc.status_code, code, detail, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        errors.append({"field": ".".join(loc) or "body", "message": err.get("msg", "invalid")})
    return errors


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    if any(err.get("type") == "json_invalid" for err in raw):
        return problem(400, "malformed_json", "The request body is not valid JSON.")
    errors = _field_errors(exc)
    fields = ", ".join(e["field"] for e in errors)
    return problem(422, "validation_error", f"Invalid input: {fields}.", errors=errors)


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # Only what escapes the middleware stack gets here (the app's own 500s are rendered inside it,
    # by conjure.observability.middleware.ObserveMiddleware, with the request id and headers).
    log.exception("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
    return problem(500, "internal_error", "Something went wrong on our side; it has been logged.")


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through problem+json."""
    app.add_exception_handler(ConjureError, _conjure_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unhandled)
