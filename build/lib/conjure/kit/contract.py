"""The HTTP contract every route keeps, applied once to the whole app, and the OpenAPI that tells it.

``create_app`` adds :class:`ContractMiddleware` and calls :func:`install_contract` once every
router is mounted:

- a route that needs a signed-in caller answers 401 from the ``Authorization`` header alone,
  before its body is read (an anonymous request learns nothing from its body and costs no parse);
  with a bearer present but a body that is not JSON, the credential is checked before 400
  ``malformed_json`` is answered (only on that failure path: a valid request verifies it once,
  in its dependencies), so a bad token learns nothing from a bad body either;
- a route with a JSON body answers 415 ``unsupported_media_type`` to another Content-Type;
- the OpenAPI document names the problem+json body (``Problem``, with ``errors[]`` for 422) under
  every failure each operation can answer (``PROBLEM_SCHEMA``: RFC 9457 fields, ``code``, and
  ``errors[]`` on a 422), derived from the route itself, so no router lists them:

  ======  ==============================================================================
  400     a JSON body (``malformed_json``)
  401     a route that needs a caller (``CurrentPrincipal`` among its dependencies)
  403     an admin route (``AdminUser``)
  404     a path parameter (no such resource, or not the caller's)
  409     an ``Idempotency-Key`` header (``idempotency_key_reused``)
  413     a method that takes a body (``request_too_large``)
  415     a JSON body (``unsupported_media_type``)
  422     any parameter or body (``validation_error``, with ``errors[]``); replaces FastAPI's
          ``HTTPValidationError``, a body the server never sends
  429     a caller's route (the default limit) or a ``conjure.ratelimit.deps`` limit
  503     a route whose limits fail closed while Redis is down (``service_unavailable``)
  ======  ==============================================================================

  Statuses a router declares itself (402, another 409 such as ``email_taken`` or
  ``job_not_cancelable``, 502, a feature's 503) keep their text and get the same body.
"""

from __future__ import annotations

import email.message
import inspect
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.params import Form
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from conjure.auth.deps import (
    check_bearer,
    get_admin_user,
    get_current_principal,
    require_bearer_header,
)
from conjure.errors import PROBLEM_JSON, ConjureError, problem
from conjure.kit.problems import DESCRIPTIONS, PROBLEM_SCHEMA
from conjure.ratelimit.policy import OUTAGE_EXTENSION
from conjure.ratelimit.service import Outage

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_IDEMPOTENCY_KEY = "idempotency-key"  # its reuse with another request is 409 idempotency_key_reused
_DESCRIPTIONS = {
    400: "The body is not valid JSON (`malformed_json`)",
    403: "Not allowed (`forbidden`: needs the admin role)",
    413: "The body is too large (`request_too_large`)",
    415: "The body is not JSON (`unsupported_media_type`)",
    422: "Invalid input (`validation_error`; `errors[]` names each field)",
    429: "Too many requests (`rate_limited`); see Retry-After",
    503: "Unavailable (`service_unavailable` while the rate-limit store is down, or not configured)",
    **{status: text for status, text in DESCRIPTIONS.items() if status not in (422, 429, 503)},
}


class UnsupportedMediaType(ConjureError):
    code, status = "unsupported_media_type", 415


def install_contract(app: FastAPI) -> None:
    """Describe every route's problems in the app's OpenAPI (the guards are :class:`ContractMiddleware`).

    Also wraps the app's validation-error handler (call it after ``install_error_handlers``) so a
    caller's route checks the bearer before it answers ``malformed_json``.
    """
    render = app.exception_handlers[RequestValidationError]

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        route = request.scope.get("route")
        if _malformed(exc) and isinstance(route, APIRoute) and _needs_caller(route):
            try:
                await check_bearer(request)
            except ConjureError as failure:
                return problem(failure.status, failure.code, failure.message, headers=failure.headers)
        response = render(request, exc)
        return await response if inspect.isawaitable(response) else response

    app.add_exception_handler(RequestValidationError, validation_error)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            describe_problems(build(), app.routes)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[Any]:
    """Every API route with its full path (FastAPI keeps included routers' routes lazily)."""
    for context in iter_route_contexts(routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    for dep in dependant.dependencies:
        yield dep
        yield from _dependants(dep)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    return (dep.call for dep in _dependants(dependant) if dep.call is not None)


def _needs_caller(route: Any) -> bool:
    return get_current_principal in set(_calls(route.dependant))


def _malformed(exc: RequestValidationError) -> bool:
    return any(err.get("type") == "json_invalid" for err in exc.errors())


def _json_body(route: Any) -> bool:
    field = route.body_field
    return field is not None and not isinstance(field.field_info, Form)


def _is_json(content_type: str) -> bool:
    # The same test FastAPI makes before it parses a body as JSON.
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


@dataclass(frozen=True)
class _Guarded:
    path: re.Pattern[str]
    methods: frozenset[str]
    needs_caller: bool
    json_body: bool


class ContractMiddleware:
    """401 before the body for a caller's route, 415 for a JSON route sent another type.

    Pure ASGI, inside the request-id and security-header layers. It looks the route up only
    for a request that has a body and lacks a bearer header or sends a non-JSON type, so the
    usual request (signed in, JSON, or no body) pays two header reads.
    """

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes
        self._table: list[_Guarded] | None = None

    def _guarded(self) -> list[_Guarded]:
        if self._table is None:
            self._table = [
                _Guarded(r.path_regex, frozenset(r.methods or ()), _needs_caller(r), _json_body(r))
                for r in api_routes(self.routes)
            ]
        return self._table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        content_type = headers.get("content-type")
        no_bearer = _bearer_missing(headers.get("authorization"))
        foreign_type = bool(content_type) and not _is_json(content_type or "")
        if has_body and (no_bearer or foreign_type):
            failure = self._failure(scope, no_bearer=no_bearer, foreign_type=foreign_type)
            if failure is not None:
                response = problem(failure.status, failure.code, failure.message, headers=failure.headers)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _failure(self, scope: Scope, *, no_bearer: bool, foreign_type: bool) -> ConjureError | None:
        # All routes, in order: the first that matches is the one Starlette would run.
        for route in self._guarded():
            if scope["method"] in route.methods and route.path.match(scope["path"]):
                if route.needs_caller and no_bearer:
                    try:
                        require_bearer_header(None)
                    except ConjureError as exc:
                        return exc
                if route.json_body and foreign_type:
                    return UnsupportedMediaType("Send the body as application/json.")
                return None
        return None


def _bearer_missing(authorization: str | None) -> bool:
    try:
        require_bearer_header(authorization)
    except ConjureError:
        return True
    return False


def statuses_of(route: Any) -> set[int]:
    """The failures ``route`` can answer by the platform's rules (see the module's table)."""
    calls = set(_calls(route.dependant))
    statuses: set[int] = set()
    dependants = [route.dependant, *_dependants(route.dependant)]
    if route.body_field is not None or any(
        d.query_params or d.header_params or d.cookie_params or d.path_params for d in dependants
    ):
        statuses.add(422)
    if route.dependant.path_params or "{" in route.path_format:
        statuses.add(404)
    if _json_body(route):
        statuses |= {400, 415}
    if route.methods & BODY_METHODS:
        statuses.add(413)
    if any(_IDEMPOTENCY_KEY in (p.alias.lower() for p in d.header_params) for d in dependants):
        statuses.add(409)
    if get_current_principal in calls:
        statuses |= {401, 429}
    if get_admin_user in calls:
        statuses.add(403)
    if any(getattr(call, "__module__", "") == "conjure.ratelimit.deps" for call in calls):
        statuses.add(429)
    if (route.openapi_extra or {}).get(OUTAGE_EXTENSION) == str(Outage.CLOSED):
        statuses.add(503)
    return statuses


def describe_problems(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Put the problem body under every failure each operation can answer (in place)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body, never sent
        components.pop(name, None)
    content = {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}
    for route in api_routes(routes):
        if not route.include_in_schema:
            continue
        derived = statuses_of(route)
        for method in route.methods:
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
            for status in sorted(declared | derived):
                response = responses.setdefault(
                    str(status), {"description": _DESCRIPTIONS.get(status, "Error")}
                )
                if status == 422 and status not in route.responses:
                    response["description"] = _DESCRIPTIONS[422]
                response["content"] = dict(content)
