"""The hottest routes (a job's submit and its poll) called without FastAPI's per-request machinery.

A route opts in with :func:`hot_route`; :class:`HotPathMiddleware` then serves its *usual* request
itself: the same endpoint function, called with the same dependencies (the caller, the runtime,
a header-only dependency such as ``JobOptions``) and the same body model, its answer serialized
with the route's response model. It skips what FastAPI does for every route on every request —
matching ~100 routes, inspecting each dependency, the exit stacks, validating the answer a second
time — which was about half of a status poll's API CPU (docs/bench.md).

Anything unusual goes to the FastAPI route exactly as before: a query string, a header one of its
dependencies reads (``Idempotency-Key``, ``Cancel-After``), a body that is not JSON or does not
validate (so 400/415/422 are FastAPI's own), a path parameter that does not parse. Nothing with a
side effect has run by then (the caller, and so its rate limit, is resolved after the body and the
path). Errors the endpoint or the caller raise (:class:`~conjure.errors.ConjureError`) are rendered
by the app's own exception handler; anything else propagates to the outer middleware as from a
FastAPI route (the database-fault retry, the 500 renderer). A route whose dependencies are not of
those kinds is served by FastAPI whatever it declares.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conjure.auth.deps import get_current_principal
from conjure.deps import get_runtime
from conjure.errors import ConjureError

F = TypeVar("F", bound=Callable[..., Any])
_HOT = "__conjure_hot_route__"
# Path parameter types parsed here; a route with another type is left to FastAPI.
_CONVERTERS: dict[Any, Callable[[str], Any]] = {uuid.UUID: uuid.UUID, int: int, str: str}
Resolver = Callable[[Request, Response], Awaitable[Any]]


def hot_route(endpoint: F) -> F:
    """Mark an endpoint as a hot route (put it under the ``@router`` decorator)."""
    setattr(endpoint, _HOT, True)
    return endpoint


class _FallBack(Exception):
    """This request is one for the FastAPI route."""


@dataclass(frozen=True)
class HotRoute:
    """What serving one route needs, worked out once from its FastAPI dependant."""

    route: APIRoute
    path: Any  # the route's compiled path pattern
    path_params: tuple[tuple[str, Callable[[str], Any]], ...]
    body: tuple[str, type[BaseModel]] | None
    dependencies: tuple[tuple[str, Resolver, frozenset[bytes]], ...]  # name, resolver, headers it reads
    answer: TypeAdapter[Any]
    endpoint: Callable[..., Awaitable[Any]]
    method: str
    status_code: int

    @classmethod
    def of(cls, route: Any, original: APIRoute | None = None) -> HotRoute | None:
        """The plan for ``route`` (an ``APIRoute``, or the effective route FastAPI makes of one
        included in an app, with the include's prefix and dependencies: ``original`` is the
        route itself), or None when it has parameters of other kinds."""
        dependant: Dependant | None = route.dependant
        if dependant is None:
            return None
        if dependant.query_params or dependant.header_params or dependant.cookie_params:
            return None
        if route.response_model is None or not _plain_answer(route):
            return None
        path_params = []
        for field in dependant.path_params:
            converter = _CONVERTERS.get(field.field_info.annotation)
            if converter is None:
                return None
            path_params.append((field.name, converter))
        body = None
        if dependant.body_params:
            [field] = dependant.body_params
            model = field.field_info.annotation
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                return None
            body = (field.name, model)
        dependencies = []
        for dep in dependant.dependencies:
            resolver = _resolver(dep)
            if resolver is None or dep.name is None:
                return None
            headers = frozenset(p.alias.lower().encode("latin-1") for p in dep.header_params)
            dependencies.append((dep.name, resolver, headers))
        return cls(
            original or route,
            route.path_regex,
            tuple(path_params),
            body,
            tuple(dependencies),
            TypeAdapter(route.response_model),
            route.endpoint,
            next(iter(route.methods or ("GET",))),
            route.status_code or 200,
        )


def _plain_answer(route: Any) -> bool:
    """The default response class and none of the response-model options (what is served here)."""
    options = (
        route.response_model_include,
        route.response_model_exclude,
        route.response_model_exclude_unset,
        route.response_model_exclude_defaults,
        route.response_model_exclude_none,
    )
    return isinstance(route.response_class, DefaultPlaceholder) and not any(options)


async def _runtime(request: Request, _: Response) -> Any:
    return await get_runtime(request)


def _resolver(dep: Dependant) -> Resolver | None:
    """How to resolve one of the route's dependencies here, if it is of a kind served here."""
    if dep.call is get_current_principal:
        return get_current_principal
    if dep.call is get_runtime:
        return _runtime
    call = dep.call
    simple = (
        call is not None
        and dep.request_param_name is not None
        and not (
            dep.dependencies or dep.path_params or dep.query_params or dep.cookie_params or dep.body_params
        )
        and all(not p.field_info.is_required() for p in dep.header_params)
    )
    if not simple or call is None or dep.request_param_name is None:
        return None
    name: str = dep.request_param_name

    async def header_dependency(request: Request, _: Response) -> Any:
        # Served only when none of its headers is present (checked by the caller): their defaults.
        return await call(**{name: request})

    return header_dependency


def hot_routes(app: FastAPI) -> list[HotRoute]:
    """The plans of the app's routes marked with :func:`hot_route` (in the app's route order)."""
    from fastapi.routing import iter_route_contexts

    plans = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and getattr(route.endpoint, _HOT, False):
            plan = HotRoute.of(context, route)
            if plan is not None and len(context.methods or ()) == 1:
                plans.append(plan)
    return plans


class HotPathMiddleware:
    """Innermost: serves the usual request of a hot route, passes everything else on."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self._routes: dict[str, list[HotRoute]] | None = None

    def _by_method(self) -> dict[str, list[HotRoute]]:
        if self._routes is None:  # built on first use: every router is mounted by then
            routes: dict[str, list[HotRoute]] = {}
            for plan in hot_routes(self.fastapi_app):
                routes.setdefault(plan.method, []).append(plan)
            self._routes = routes
        return self._routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("query_string"):
            for plan in self._by_method().get(scope["method"], ()):
                match = plan.path.match(scope["path"])
                if match is not None:
                    try:
                        await self._serve(plan, match.groupdict(), scope, receive, send)
                    except _FallBack as back:
                        await self.app(scope, back.args[0] if back.args else receive, send)
                    return
        await self.app(scope, receive, send)

    async def _serve(
        self, plan: HotRoute, path: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        values: dict[str, Any] = {}
        try:
            for name, convert in plan.path_params:
                values[name] = convert(path[name])
        except ValueError:
            raise _FallBack() from None
        headers = {name for name, _ in scope["headers"]}
        if any(dep_headers & headers for _, _, dep_headers in plan.dependencies):
            raise _FallBack()
        request = Request(scope, receive)
        if plan.body is not None:
            values[plan.body[0]] = await _body(request, plan.body[1], receive)
        scope["route"] = plan.route  # what a matched route leaves for the metrics and the limits
        # Headers the dependencies set (the rate-limit state), as FastAPI's own sub-response.
        sub_response = Response()
        del sub_response.headers["content-length"]
        try:
            for name, resolve, _ in plan.dependencies:
                values[name] = await resolve(request, sub_response)
            result = await plan.endpoint(**values)
        except ConjureError as exc:
            response = await self._render(request, exc)
        else:
            content = plan.answer.dump_json(result, by_alias=True)
            response = Response(
                content, status_code=plan.route.status_code or 200, media_type="application/json"
            )
            response.headers.raw.extend(sub_response.headers.raw)
        await response(scope, receive, send)

    async def _render(self, request: Request, exc: ConjureError) -> Response:
        handlers = self.fastapi_app.exception_handlers
        handler = next(handlers[kind] for kind in type(exc).__mro__ if kind in handlers)
        response = handler(request, exc)
        return await response if isinstance(response, Awaitable) else response


async def _body(request: Request, model: type[BaseModel], receive: Receive) -> BaseModel:
    """The body as the route's model; falls back (replaying it) when it is not a valid JSON one."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() == "application/json":
        try:
            return model.model_validate_json(body)
        except ValidationError:
            pass
    raise _FallBack(_replay(body, receive))


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read here once more, then the connection's own."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
