"""The app kit through HTTP on every app's submit route: webhook, Cancel-After, Idempotency-Key, problems."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import pytest

from conjure.db import utcnow
from conjure.errors import PROBLEM_JSON
from conjure.jobs.webhooks import SIGNATURE_HEADER
from conjure.kit.submit import parse_cancel_after
from tests.apps.conftest import MakeApi
from tests.receivers import Receiver


@dataclass(frozen=True)
class SubmitRoute:
    """An app's submit route, its poll route and how its bodies say "ended"."""

    path: str
    body: dict[str, Any]
    poll: str
    ended: frozenset[str]
    succeeded: str


ROUTES = {
    "tarot": SubmitRoute(
        "/api/v1/tarot/read",
        {"question": "Will my new project take off this year?"},
        "/api/v1/reading/{id}",
        frozenset({"succeeded", "failed", "dlq", "canceled"}),
        "succeeded",
    ),
    "imagegen": SubmitRoute(
        "/api/generation",
        {"prompt": "a red fox in the snow"},
        "/api/generation/{id}",
        frozenset({"completed", "failed", "canceled"}),
        "completed",
    ),
}
WEBHOOK_SETTINGS = {"job_webhook_allow_private": True, "job_webhook_secret": "whsec-kit"}


@pytest.fixture(params=sorted(ROUTES))
def route(request: pytest.FixtureRequest) -> SubmitRoute:
    return ROUTES[request.param]


def _verify(headers: dict[str, str], body: bytes, secret: bytes) -> None:
    parts = dict(item.split("=", 1) for item in headers[SIGNATURE_HEADER.lower()].split(","))
    expected = hmac.new(secret, f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)


async def test_submit_route_stores_the_webhook_and_delivers_it_signed(
    make_api: MakeApi, backend: dict[str, str], route: SubmitRoute, receiver: Receiver
) -> None:
    api = await make_api(**backend, **WEBHOOK_SETTINGS)
    _, headers = await api.user()
    body = {**route.body, "webhook": receiver.url}
    response = await api.client.post(route.path, json=body, headers=headers)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert (await api.job(job_id)).webhook_url == receiver.url
    await api.start_worker()
    view = await api.poll(route.poll.format(id=job_id), headers, lambda b: b["status"] in route.ended)
    assert view["status"] == route.succeeded, view
    for _ in range(300):
        if receiver.calls:
            break
        await asyncio.sleep(0.05)
    assert len(receiver.calls) == 1
    sent_headers, body = receiver.calls[0]
    _verify(sent_headers, body, b"whsec-kit")
    payload = json.loads(body)
    assert (payload["id"], payload["status"]) == (job_id, "succeeded")


async def test_cancel_after_expires_a_job_no_worker_started_in_time(
    make_api: MakeApi, backend: dict[str, str], route: SubmitRoute
) -> None:
    api = await make_api(**backend)
    user, headers = await api.user(stars=1)
    before = utcnow()
    response = await api.client.post(route.path, json=route.body, headers={**headers, "Cancel-After": "1s"})
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    deadline = (await api.job(job_id)).start_deadline
    assert deadline is not None
    assert before + dt.timedelta(seconds=1) <= deadline <= utcnow() + dt.timedelta(seconds=1)
    assert await api.balances(user) == (1, 1)  # held, not yet spent
    await asyncio.sleep(max(0.0, (deadline - utcnow()).total_seconds()) + 0.1)
    await api.start_worker()  # too late: the job must end without running
    view = await api.poll(route.poll.format(id=job_id), headers, lambda b: b["status"] in route.ended)
    assert view["status"] == "canceled", view
    assert view["error"]["code"] == "deadline"
    job = await api.job(job_id)
    assert (job.attempts, job.error_code) == (0, "deadline")
    assert await api.balances(user) == (1, 0)


async def test_a_later_cancel_after_lets_the_job_run(make_api: MakeApi, sqlite_url: str) -> None:
    api = await make_api(database_url=sqlite_url)
    _, headers = await api.user()
    route = ROUTES["tarot"]
    response = await api.client.post(route.path, json=route.body, headers={**headers, "Cancel-After": "5m"})
    job_id = response.json()["job_id"]
    await api.start_worker()
    view = await api.poll(route.poll.format(id=job_id), headers, lambda b: b["status"] in route.ended)
    assert view["status"] == "succeeded"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Cancel-After", "soon"),
        ("Cancel-After", "0s"),
        ("Cancel-After", "25h"),
        ("Cancel-After", "1h-5m"),
        ("Cancel-After", "99999999999999999999"),
        ("Idempotency-Key", ""),
        ("Idempotency-Key", "k" * 256),
    ],
)
async def test_bad_submit_headers_are_422_on_every_app(
    make_api: MakeApi, sqlite_url: str, header: str, value: str
) -> None:
    api = await make_api(database_url=sqlite_url)
    user, headers = await api.user()
    for route in ROUTES.values():
        response = await api.client.post(route.path, json=route.body, headers={**headers, header: value})
        assert response.status_code == 422, (route.path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert header in problem["detail"]
    assert await api.balances(user) == (2, 0)


async def test_a_private_webhook_is_refused_with_422(make_api: MakeApi, sqlite_url: str) -> None:
    api = await make_api(database_url=sqlite_url, job_webhook_secret="whsec-kit")
    user, headers = await api.user()
    for route in ROUTES.values():
        body = {**route.body, "webhook": "http://127.0.0.1:9/hook"}
        response = await api.client.post(route.path, json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "webhook_not_allowed"
    assert await api.balances(user) == (2, 0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("1h2m3s", 3723), (" 2M ", 120), ("24h", 86400)],
)
def test_cancel_after_accepts_durations_like_replicate(text: str, seconds: int) -> None:
    assert parse_cancel_after(text) == dt.timedelta(seconds=seconds)


async def test_every_submit_route_documents_the_kit(make_api: MakeApi, sqlite_url: str) -> None:
    api = await make_api(database_url=sqlite_url)
    spec = (await api.client.get("/openapi.json")).json()
    for route in ROUTES.values():
        operation = spec["paths"][route.path]["post"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert {"Idempotency-Key", "Cancel-After"} <= headers
        for status in ("401", "402", "409", "422"):
            content = operation["responses"][status]["content"]
            assert list(content) == [PROBLEM_JSON]
            fields = set(content[PROBLEM_JSON]["schema"]["properties"])
            assert {"type", "title", "status", "detail", "code"} <= fields
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert "webhook" in spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
