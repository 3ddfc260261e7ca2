"""Provider errors classified by what the provider says, not by status code alone: a 429's
``Retry-After`` sets the job's least retry delay; an exhausted quota, refused credentials or a
content-policy refusal fail the job at once and are logged at ERROR for the operator (one
line, no prompt)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conjure.jobs.registry import PermanentJobError, RetryableJobError
from conjure.settings import Settings
from tests.ai.fakes import FakeModelServer, Reply, fake_model_server
from tests.ai.test_chain import OK, _run, _settings

QUOTA_BODY = {
    "message": "You exceeded your current quota, please check your plan and billing details.",
    "type": "insufficient_quota",
    "param": None,
    "code": "insufficient_quota",
}
POLICY_BODY = {
    "message": "Your request was rejected as a result of our safety system.",
    "type": "invalid_request_error",
    "param": None,
    "code": "content_policy_violation",
}


@pytest.fixture
def fake() -> Iterator[FakeModelServer]:
    with fake_model_server(default=OK) as server:
        yield server


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_a_429_retry_after_becomes_the_jobs_least_delay(
    make_settings: Callable[..., Settings], fake: FakeModelServer, provider: str
) -> None:
    fake.script = [Reply(status=429, headers={"Retry-After": "20"})]
    with pytest.raises(RetryableJobError) as info:
        await _run(_settings(make_settings, fake, provider))
    assert info.value.code == "model_unavailable"
    assert info.value.retry_after == 20


async def test_the_longest_retry_after_of_the_chain_wins(
    make_settings: Callable[..., Settings], fake: FakeModelServer
) -> None:
    fake.script = [
        Reply(status=429, headers={"Retry-After": "7"}),
        Reply(status=429, headers={"Retry-After": "30"}),
    ]
    with pytest.raises(RetryableJobError) as info:
        await _run(_settings(make_settings, fake, "openai,gemini"))
    assert info.value.retry_after == 30


async def test_a_429_without_retry_after_leaves_the_backoff_alone(
    make_settings: Callable[..., Settings], fake: FakeModelServer
) -> None:
    fake.script = [Reply(status=429)]
    with pytest.raises(RetryableJobError) as info:
        await _run(_settings(make_settings, fake, "openai"))
    assert info.value.retry_after is None


async def test_an_exhausted_quota_fails_at_once_and_alerts_the_operator(
    make_settings: Callable[..., Settings], fake: FakeModelServer, chain_logs: list[dict[str, Any]]
) -> None:
    fake.script = [Reply(status=429, error=QUOTA_BODY, headers={"Retry-After": "20"})]
    with pytest.raises(PermanentJobError) as info:
        await _run(_settings(make_settings, fake, "openai"))
    assert info.value.code == "ai_quota_exceeded"
    assert len(fake.requests) == 1
    [alert] = [entry for entry in chain_logs if entry["log_level"] == "error"]
    assert (alert["event"], alert["provider"], alert["kind"], alert["status"]) == (
        "model_provider_refused",
        "openai",
        "quota",
        429,
    )
    assert "Will it rain?" not in str(chain_logs)
    assert "SECRET-INSTRUCTIONS" not in str(chain_logs)


@pytest.mark.parametrize("provider", ["openai", "gemini"])
@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_fail_at_once_and_alert_the_operator(
    make_settings: Callable[..., Settings],
    fake: FakeModelServer,
    chain_logs: list[dict[str, Any]],
    provider: str,
    status: int,
) -> None:
    fake.script = [Reply(status=status)]
    with pytest.raises(PermanentJobError) as info:
        await _run(_settings(make_settings, fake, provider))
    assert info.value.code == "ai_auth_failed"
    assert [(e["kind"], e["status"]) for e in chain_logs if e["log_level"] == "error"] == [("auth", status)]


async def test_a_content_policy_refusal_fails_at_once_and_is_logged_at_error(
    make_settings: Callable[..., Settings], fake: FakeModelServer, chain_logs: list[dict[str, Any]]
) -> None:
    fake.script = [Reply(status=400, error=POLICY_BODY)]
    with pytest.raises(PermanentJobError) as info:
        await _run(_settings(make_settings, fake, "openai"))
    assert info.value.code == "model_rejected"
    assert [e["kind"] for e in chain_logs if e["log_level"] == "error"] == ["rejected"]
    assert "Will it rain?" not in str(chain_logs)


async def test_a_quota_on_one_provider_falls_through_to_the_next(
    make_settings: Callable[..., Settings], fake: FakeModelServer
) -> None:
    fake.script = [Reply(status=429, error=QUOTA_BODY)]
    outcome = await _run(_settings(make_settings, fake, "openai,gemini"))
    assert outcome.provider == "gemini"
