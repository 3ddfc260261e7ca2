"""The HTTP contract every route shares: health, readiness, problem details, limits, request ids."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from conjure.app import create_app
from conjure.apps import AppSpec
from conjure.runtime import Runtime
from conjure.settings import Settings


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}


async def test_ready_names_the_failed_dependency(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    settings = make_settings(database_url=sqlite_url, redis_url="redis://127.0.0.1:1/0")
    runtime = await Runtime.start(settings)
    try:
        app = create_app(runtime=runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            ready = await c.get("/ready")
    finally:
        await runtime.close()
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["checks"]["broker"] == "failed"
    assert ready.json()["checks"]["database"] == "ok"


async def test_metrics_exposes_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    body = (await client.get("/metrics")).text
    assert "conjure_http_requests_total" in body


async def test_requests_are_counted_by_route_template_with_security_headers(
    client: httpx.AsyncClient,
) -> None:
    def count(route: str, status: str) -> float:
        from prometheus_client import REGISTRY

        labels = {"method": "GET", "route": route, "status": status}
        return REGISTRY.get_sample_value("conjure_http_requests_total", labels) or 0.0

    before_ok, before_missing = count("/health", "200"), count("unmatched", "404")
    ok = await client.get("/health")
    missing = await client.get("/no/such/route")
    assert count("/health", "200") == before_ok + 1
    assert count("unmatched", "404") == before_missing + 1
    for response in (ok, missing):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # development: plain http


async def test_unknown_route_and_wrong_method_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/no/such/route")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "not_found"
    wrong = await client.delete("/health")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


class Body(BaseModel):
    count: int


def _echo_app(runtime: Runtime) -> httpx.AsyncClient:
    router = APIRouter()

    @router.post("/echo")
    async def echo(body: Body) -> dict[str, int]:
        return {"count": body.count}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app = create_app(runtime=runtime, apps=[AppSpec(name="echo", routers=[router])])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_malformed_json_wrong_types_and_oversize_bodies(runtime: Runtime) -> None:
    async with _echo_app(runtime) as c:
        bad_json = await c.post("/echo", content=b'{"count": ', headers={"content-type": "application/json"})
        assert bad_json.status_code == 400
        assert bad_json.json()["code"] == "malformed_json"
        wrong_type = await c.post("/echo", json={"count": "many"})
        assert wrong_type.status_code == 422
        assert wrong_type.json()["code"] == "validation_error"
        assert wrong_type.json()["errors"][0]["field"] == "count"
        big = b'{"count": 1, "pad": "' + b"a" * (runtime.settings.max_request_body_bytes + 1) + b'"}'
        oversize = await c.post("/echo", content=big, headers={"content-type": "application/json"})
        assert oversize.status_code == 413
        assert oversize.json()["code"] == "request_too_large"


async def test_oversize_stream_without_content_length_is_refused(runtime: Runtime) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"a" * 65536

    async with _echo_app(runtime) as c:
        response = await c.post(
            "/echo",
            content=chunks(),
            headers={"content-type": "application/json", "x-request-id": "big-body-1"},
        )
    assert response.status_code == 413
    # Refused like any other answer: the client's request id and the security headers come back.
    assert response.headers["x-request-id"] == "big-body-1"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_unhandled_error_is_500_without_internals(runtime: Runtime) -> None:
    async with _echo_app(runtime) as c:
        response = await c.get("/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text


async def test_a_500_carries_the_request_id_headers_and_one_log_line(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    router = APIRouter()

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app = create_app(runtime=runtime, apps=[AppSpec(name="crash", routers=[router])])
    capsys.readouterr()
    # raise_app_exceptions on: an exception escaping the app is what the server would log again.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/crash", headers={"X-Request-ID": "req-500-abc"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "internal_error"
    assert "hunter2" not in response.text
    assert response.headers["x-request-id"] == "req-500-abc"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    logged = [line for line in capsys.readouterr().err.splitlines() if "unhandled_error" in line]
    assert len(logged) == 1, logged
    assert "req-500-abc" in logged[0]


@pytest.mark.parametrize("incoming", ["abc-123", "bad id with spaces\n"])
async def test_request_id_on_every_response(client: httpx.AsyncClient, incoming: str) -> None:
    response = await client.get("/health", headers={"x-request-id": incoming.strip()})
    request_id = response.headers["x-request-id"]
    if incoming == "abc-123":
        assert request_id == "abc-123"
    else:
        assert request_id != incoming.strip()
        assert len(request_id) == 32
    missing = await client.get("/nope")
    assert missing.headers["x-request-id"]


async def test_cors_allows_only_listed_origins(client: httpx.AsyncClient) -> None:
    allowed = await client.options(
        "/health", headers={"origin": "http://localhost:8000", "access-control-request-method": "GET"}
    )
    assert allowed.headers.get("access-control-allow-origin") == "http://localhost:8000"
    denied = await client.options(
        "/health", headers={"origin": "https://evil.example", "access-control-request-method": "GET"}
    )
    assert "access-control-allow-origin" not in denied.headers


async def test_openapi_docs_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "Conjure"


async def test_file_uploads_have_their_own_larger_limit(client: httpx.AsyncClient) -> None:
    body = b"x" * (2 * 1_048_576)
    upload = await client.put("/files/uploads/a.png?exp=1&sig=bad", content=body)
    assert upload.status_code != 413  # refused for its signature, not its size
    assert upload.json()["code"] != "request_too_large"
    elsewhere = await client.put("/api/v1/me", content=body)
    assert elsewhere.status_code == 413


@pytest.mark.parametrize(
    ("environment", "token", "authorization", "expected"),
    [
        ("test", None, None, 200),  # development and test: open
        ("production", None, None, 404),  # production without a token: closed
        ("production", "scrape-" + "t" * 24, None, 401),
        ("production", "scrape-" + "t" * 24, "Bearer wrong", 401),
        ("production", "scrape-" + "t" * 24, "Basic scrape-" + "t" * 24, 401),
        ("production", "scrape-" + "t" * 24, "Bearer scrape-" + "t" * 24, 200),
    ],
)
async def test_metrics_are_for_the_holder_of_the_metrics_token(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    environment: str,
    token: str | None,
    authorization: str | None,
    expected: int,
) -> None:
    settings = make_settings(database_url=sqlite_url, environment=environment, metrics_token=token)
    runtime = await Runtime.start(settings)
    try:
        app = create_app(runtime=runtime)
        headers = {"authorization": authorization} if authorization else {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            response = await c.get("/metrics", headers=headers)
    finally:
        await runtime.close()
    assert response.status_code == expected
    if expected == 200:
        assert "conjure_http_requests_total" in response.text
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == ("not_found" if expected == 404 else "metrics_unauthorized")
