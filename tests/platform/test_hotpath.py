"""The hot path (``conjure.kit.hotpath``): the tarot submit and poll served below FastAPI answer
exactly what the FastAPI routes answer, and everything unusual still goes to FastAPI."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from conjure.app import create_app
from conjure.kit import hotpath
from conjure.kit.hotpath import HotRoute, hot_routes
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.factories import auth_headers, make_user

QUESTION = "Will the hot path answer like the slow one?"
# Headers that differ between any two responses.
VOLATILE = {"x-request-id", "date", "content-length"}


@pytest.fixture
async def api(
    backend: dict[str, str], make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime, list[str]]]:
    runtime = await Runtime.start(make_settings(**backend))
    served: list[str] = []
    serve = hotpath.HotPathMiddleware._serve

    async def counted(self: Any, plan: HotRoute, *args: Any) -> None:
        served.append(plan.route.path)
        await serve(self, plan, *args)

    monkeypatch.setattr(hotpath.HotPathMiddleware, "_serve", counted)
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, runtime, served
    await runtime.close()


def same(fast: httpx.Response, slow: httpx.Response) -> None:
    """Same status, headers (but the per-response ones) and body."""
    assert fast.status_code == slow.status_code, (fast.text, slow.text)
    assert {k: v for k, v in fast.headers.items() if k not in VOLATILE} == {
        k: v for k, v in slow.headers.items() if k not in VOLATILE
    }
    assert fast.content == slow.content


def test_only_the_marked_routes_with_known_dependencies_are_planned(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    app = create_app(make_settings(database_url=sqlite_url))
    assert {(p.route.path, p.method) for p in hot_routes(app)} == {
        ("/api/v1/tarot/read", "POST"),
        ("/api/v1/reading/{job_id}", "GET"),
    }
    history = next(c for c in iter_route_contexts(app.routes) if c.path_format == "/api/v1/readings")
    assert HotRoute.of(history) is None  # CurrentUser, a session: served by FastAPI


async def test_submit_and_poll_answer_as_the_fastapi_routes(
    api: tuple[httpx.AsyncClient, Runtime, list[str]],
) -> None:
    client, runtime, served = api
    user = await make_user(runtime, stars=5)
    headers = auth_headers(runtime, user)
    fast = await client.post("/api/v1/tarot/read", json={"question": QUESTION}, headers=headers)
    # A query string sends the same request to the FastAPI route.
    slow = await client.post("/api/v1/tarot/read?via=fastapi", json={"question": QUESTION}, headers=headers)
    assert served == ["/api/v1/tarot/read"]
    assert fast.status_code == slow.status_code == 202
    assert fast.json()["job_id"] == slow.json()["job_id"]  # the in-flight duplicate: the same job
    assert fast.headers["ratelimit-limit"] == slow.headers["ratelimit-limit"]
    assert fast.headers["x-content-type-options"] == "nosniff"
    job_id = fast.json()["job_id"]
    fast = await client.get(f"/api/v1/reading/{job_id}", headers=headers)
    slow = await client.get(f"/api/v1/reading/{job_id}?via=fastapi", headers=headers)
    assert served[-1] == "/api/v1/reading/{job_id}"
    assert fast.json()["status"] == "queued"
    assert fast.status_code == slow.status_code == 200
    assert fast.content == slow.content
    assert int(fast.headers["ratelimit-remaining"]) <= int(slow.headers["ratelimit-limit"])


async def test_errors_are_the_same_problems(api: tuple[httpx.AsyncClient, Runtime, list[str]]) -> None:
    client, runtime, served = api
    owner, other = await make_user(runtime, stars=1), await make_user(runtime, stars=0)
    job = await client.post(
        "/api/v1/tarot/read", json={"question": QUESTION}, headers=auth_headers(runtime, owner)
    )
    path = f"/api/v1/reading/{job.json()['job_id']}"
    cases: list[tuple[str, str, dict[str, str], Any]] = [
        ("GET", path, auth_headers(runtime, other), None),  # another user's reading: 404
        ("GET", path, {"Authorization": "Bearer not-a-token"}, None),  # 401 invalid_token
        ("GET", path, {}, None),  # 401 unauthorized
        ("GET", f"/api/v1/reading/{uuid.uuid4()}", auth_headers(runtime, owner), None),  # 404
        ("GET", "/api/v1/reading/not-a-uuid", auth_headers(runtime, owner), None),  # 422 (FastAPI's)
        ("POST", "/api/v1/tarot/read", auth_headers(runtime, other), {"question": QUESTION}),  # 402
        ("POST", "/api/v1/tarot/read", auth_headers(runtime, owner), {"question": "short"}),  # 422
        ("POST", "/api/v1/tarot/read", auth_headers(runtime, owner), {"nothing": 1}),  # 422
    ]
    for method, url, headers, body in cases:
        fast = await client.request(method, url, headers=headers, json=body)
        slow = await client.request(method, url + "?via=fastapi", headers=headers, json=body)
        same(fast, slow)
        assert fast.status_code >= 400
        assert fast.headers["content-type"] == "application/problem+json"
    malformed = {**auth_headers(runtime, owner), "content-type": "application/json"}
    fast = await client.post("/api/v1/tarot/read", content=b"{not json", headers=malformed)
    slow = await client.post("/api/v1/tarot/read?via=fastapi", content=b"{not json", headers=malformed)
    same(fast, slow)
    assert fast.json()["code"] == "malformed_json"
    assert len(served) >= 6  # the served ones (and those that fell back) went through the hot path first


async def test_a_header_a_dependency_reads_goes_to_fastapi(
    api: tuple[httpx.AsyncClient, Runtime, list[str]],
) -> None:
    client, runtime, _ = api
    headers = {**auth_headers(runtime, await make_user(runtime, stars=3)), "Idempotency-Key": "k-1"}
    first = await client.post("/api/v1/tarot/read", json={"question": QUESTION}, headers=headers)
    again = await client.post("/api/v1/tarot/read", json={"question": QUESTION}, headers=headers)
    other = await client.post("/api/v1/tarot/read", json={"question": QUESTION + "?"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["job_id"] == again.json()["job_id"]
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    late = await client.post(
        "/api/v1/tarot/read",
        json={"question": QUESTION + "!"},
        headers={**headers, "Idempotency-Key": "k-2", "Cancel-After": "99h"},
    )
    assert late.status_code == 422  # Cancel-After outside 1 s - 24 h: submit_options, via FastAPI


async def test_the_rate_limit_applies_on_the_hot_path(
    backend: dict[str, str], make_settings: Callable[..., Settings]
) -> None:
    runtime = await Runtime.start(make_settings(**backend, rate_limit_default="3/minute"))
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            headers = auth_headers(runtime, await make_user(runtime, stars=1))
            path = f"/api/v1/reading/{uuid.uuid4()}"
            answers = [await client.get(path, headers=headers) for _ in range(4)]
    finally:
        await runtime.close()
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    assert answers[-1].json()["code"] == "rate_limited"
    assert int(answers[-1].headers["retry-after"]) > 0
