"""Image providers' errors by what the provider says: Retry-After travels to the engine, an
exhausted quota or refused credentials fail the job at once and alert the operator (ERROR, no prompt)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from conjure.apps.imagegen import providers
from conjure.apps.imagegen.tasks import generate_image
from conjure.jobs.registry import PermanentJobError, RetryableJobError
from tests.apps.imagegen.fakes import FakeServer, Reply
from tests.apps.imagegen.test_tasks import (
    FLUX,
    OPENAI_PATH,
    MakeContext,
    openai_settings,
    replicate_settings,
)

PROMPT = "a secret red fox in the snow"
QUOTA = {
    "error": {
        "message": "You exceeded your current quota.",
        "type": "insufficient_quota",
        "code": "insufficient_quota",
    }
}
LIMITED = {"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    with capture_logs() as captured:
        # A fresh logger: the module's own may be cached from an earlier test's first use.
        monkeypatch.setattr(providers, "log", structlog.get_logger("conjure.apps.imagegen"))
        yield captured


def alerts(logs: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    assert PROMPT not in str(logs)
    return [(e["provider"], e["status"], e["code"]) for e in logs if e["log_level"] == "error"]


@pytest.mark.parametrize("header", [{"Retry-After": "20"}, {"retry-after-ms": "20000"}])
async def test_openai_429_carries_its_retry_after(
    make_context: MakeContext, provider_server: FakeServer, header: dict[str, str]
) -> None:
    provider_server.on("POST", OPENAI_PATH, Reply.json(LIMITED, 429, **header))
    with pytest.raises(RetryableJobError) as caught:
        await generate_image(make_context(PROMPT, **openai_settings(provider_server)))
    assert caught.value.retry_after == 20


async def test_openai_insufficient_quota_fails_at_once_and_alerts(
    make_context: MakeContext, provider_server: FakeServer, logs: list[dict[str, Any]]
) -> None:
    provider_server.on("POST", OPENAI_PATH, Reply.json(QUOTA, 429, **{"Retry-After": "20"}))
    with pytest.raises(PermanentJobError) as caught:
        await generate_image(make_context(PROMPT, **openai_settings(provider_server)))
    assert caught.value.code == "provider_quota"
    assert len(provider_server.requests("POST", OPENAI_PATH)) == 1
    assert alerts(logs) == [("openai", 429, "provider_quota")]


@pytest.mark.parametrize("status", [401, 403])
async def test_openai_refused_credentials_alert(
    make_context: MakeContext, provider_server: FakeServer, logs: list[dict[str, Any]], status: int
) -> None:
    body = {"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}}
    provider_server.on("POST", OPENAI_PATH, Reply.json(body, status))
    with pytest.raises(PermanentJobError) as caught:
        await generate_image(make_context(PROMPT, **openai_settings(provider_server)))
    assert caught.value.code == "provider_auth"
    assert alerts(logs) == [("openai", status, "provider_auth")]


async def test_openai_content_policy_alerts(
    make_context: MakeContext, provider_server: FakeServer, logs: list[dict[str, Any]]
) -> None:
    body = {"error": {"message": "no", "type": "invalid_request_error", "code": "content_policy_violation"}}
    provider_server.on("POST", OPENAI_PATH, Reply.json(body, 400))
    with pytest.raises(PermanentJobError):
        await generate_image(make_context(PROMPT, **openai_settings(provider_server)))
    assert alerts(logs) == [("openai", 400, "content_policy")]


async def test_replicate_429_carries_its_retry_after_and_402_is_out_of_credit(
    make_context: MakeContext, provider_server: FakeServer, logs: list[dict[str, Any]]
) -> None:
    provider_server.on(
        "POST",
        FLUX,
        Reply.json({"detail": "throttled"}, 429, **{"Retry-After": "20"}),
        Reply.json({"detail": "You have insufficient credit."}, 402),
    )
    ctx = make_context(PROMPT, **replicate_settings(provider_server))
    with pytest.raises(RetryableJobError) as limited:
        await generate_image(ctx)
    assert limited.value.retry_after == 20
    with pytest.raises(PermanentJobError) as broke:
        await generate_image(ctx)
    assert broke.value.code == "provider_quota"
    assert alerts(logs) == [("replicate", 402, "provider_quota")]
