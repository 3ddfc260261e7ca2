"""Sentry: a dead-lettered job and a 500 reach a local Sentry endpoint, tagged, with no personal data."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from conjure.observability.errors import close_errors, configure_errors, scrub_event
from conjure.observability.middleware import ObserveMiddleware
from conjure.settings import Settings
from tests.factories import make_user
from tests.jobs.conftest import MakeRuntime, running, submit, wait_status
from tests.observability.collectors import SentryReceiver

SECRET_QUESTION = "Will my ex Somchai come back to me before Songkran?"


@pytest.fixture
def sentry() -> Iterator[SentryReceiver]:
    receiver = SentryReceiver().start()
    yield receiver
    close_errors()
    receiver.stop()


async def test_a_dead_lettered_job_is_reported_without_personal_data(
    make_runtime: MakeRuntime, sqlite_url: str, sentry: SentryReceiver
) -> None:
    runtime = await make_runtime(
        database_url=sqlite_url, sentry_dsn=sentry.dsn, retry_base_seconds=0.01, retry_cap_seconds=0.02
    )
    assert configure_errors(runtime.settings, role="worker")
    email = "mali.private@example.org"
    user = await make_user(runtime, email=email, stars=3)
    # The handler's error message carries the question, as a careless provider error might.
    payload = {"question": SECRET_QUESTION, "message": f"model echoed: {SECRET_QUESTION} ({email})"}
    async with running(runtime):
        job = await submit(runtime, "t.paid_fails", payload, user=user)
        await wait_status(runtime, job.id, "dlq")
    close_errors()  # flushes

    reported = [e for e in sentry.events if e.get("tags", {}).get("job_id") == str(job.id)]
    assert len(reported) == 1
    event = reported[0]
    assert event["tags"]["job_kind"] == "t.paid_fails"
    assert event["tags"]["job_status"] == "dlq"
    assert event["tags"]["error_code"] == "upstream_timeout"
    assert event["environment"] == "test"
    assert event["release"].startswith("conjure@")
    everything = "\n".join(sentry.raw)
    for private in (SECRET_QUESTION, "Somchai", email, str(user.id) + "@"):
        assert private not in everything


def test_scrubbing_takes_bodies_users_secrets_and_emails_out() -> None:
    event = {
        "request": {
            "url": "https://api.example.com/api/v1/tarot/read",
            "data": {"question": SECRET_QUESTION},
            "cookies": {"session": "abc"},
            "headers": {"Authorization": "Bearer eyJhbGciOi.secret", "User-Agent": "curl"},
        },
        "user": {"id": "u1", "email": "a@b.co", "ip_address": "203.0.113.9"},
        "extra": {"prompt": "Read the cards for me", "note": "call me at x.y@mail.example.com"},
        "message": "token: Bearer abc.def.ghi failed",
    }
    text = json.dumps(scrub_event(event))
    for private in (
        SECRET_QUESTION,
        "a@b.co",
        "203.0.113.9",
        "Read the cards",
        "x.y@mail",
        "abc.def",
        "secret",
    ):
        assert private not in text
    assert '"id": "u1"' in text
    assert "curl" in text


async def test_a_500_is_reported_with_its_route_and_no_request_body(
    make_settings: Callable[..., Settings], sentry: SentryReceiver
) -> None:
    async def crashing(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise KeyError(f"lookup failed for {SECRET_QUESTION}")

    assert configure_errors(make_settings(sentry_dsn=sentry.dsn), role="api")
    app = ObserveMiddleware(crashing, security_headers={})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answer = await client.post(
            "/api/v1/tarot/read",
            json={"question": SECRET_QUESTION},
            headers={"Authorization": "Bearer secret-token-value"},
        )
    assert answer.status_code == 500
    close_errors()
    events = [e for e in sentry.events if e.get("tags", {}).get("method") == "POST"]
    assert len(events) == 1
    assert events[0]["exception"]["values"][0]["type"] == "KeyError"
    everything = "\n".join(sentry.raw)
    assert "Somchai" not in everything
    assert "secret-token-value" not in everything
