"""The provider chain against local servers speaking the OpenAI and Gemini wire formats."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pydantic import BaseModel

from conjure.ai.chain import ModelChain
from conjure.ai.providers import ProviderConfigError, get_slot, provider_chain
from conjure.jobs.registry import PermanentJobError, RetryableJobError
from conjure.settings import Settings
from tests.ai.fakes import FakeModelServer, Reply, fake_model_server, system_text, user_prompt


class Verdict(BaseModel):
    allowed: bool
    reason: str


OK = Reply(args={"allowed": True, "reason": "fine"})


@pytest.fixture
def fake() -> Iterator[FakeModelServer]:
    with fake_model_server(default=OK) as server:
        yield server


def _settings(
    make_settings: Callable[..., Settings], fake: FakeModelServer, chain: str, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "ai_provider": chain,
        "openai_base_url": f"{fake.url}/v1",
        "openai_api_key": "sk-test",
        "openai_model": "local-llama",
        "gemini_api_key": "g-test",
        "gemini_base_url": fake.url,
        "ai_call_timeout_seconds": 10.0,  # only a hung call reaches it (a loaded box is slow, not hung)
        "ai_output_retries": 1,
    }
    values.update(extra)
    return make_settings(**values)


def _offline() -> Verdict:
    return Verdict(allowed=True, reason="offline")


async def _run(settings: Settings, **kw: Any) -> Any:
    return await ModelChain(settings).run(
        "filter",
        output_type=Verdict,
        instructions="SECRET-INSTRUCTIONS",
        prompt="Will it rain?",
        offline=_offline,
        **kw,
    )


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_real_client_request_and_typed_answer(
    make_settings: Callable[..., Settings], fake: FakeModelServer, provider: str
) -> None:
    before = _sample("conjure_model_call_seconds_count", {"provider": provider, "step": "filter"})
    outcome = await _run(_settings(make_settings, fake, provider))
    assert outcome.output == Verdict(allowed=True, reason="fine")
    assert outcome.provider == provider
    assert outcome.usage.input_tokens > 0
    assert outcome.usage.output_tokens > 0
    [seen] = fake.requests
    assert seen.api == provider
    assert user_prompt(seen.api, seen.body) == "Will it rain?"
    assert "SECRET-INSTRUCTIONS" in system_text(seen.api, seen.body)
    if provider == "openai":
        assert seen.path == "/v1/chat/completions"
        assert seen.body["model"] == "local-llama"
        assert seen.headers["authorization"] == "Bearer sk-test"
    else:
        assert seen.path.endswith("/models/gemini-2.5-flash:generateContent")
        assert seen.headers["x-goog-api-key"] == "g-test"
    after = _sample("conjure_model_call_seconds_count", {"provider": provider, "step": "filter"})
    assert after == before + 1


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_429_is_retryable_then_the_next_attempt_succeeds(
    make_settings: Callable[..., Settings], fake: FakeModelServer, provider: str
) -> None:
    settings = _settings(make_settings, fake, provider)
    fake.script = [Reply(status=429)]
    errors = _sample("conjure_model_errors_total", {"provider": provider, "kind": "retryable"})
    with pytest.raises(RetryableJobError) as info:
        await _run(settings)
    assert info.value.code == "model_unavailable"
    assert len(fake.requests) == 1  # no hidden SDK retries: the job engine owns retrying
    assert _sample("conjure_model_errors_total", {"provider": provider, "kind": "retryable"}) == errors + 1
    outcome = await _run(settings)  # the engine's next attempt
    assert outcome.output.reason == "fine"


async def test_5xx_is_retryable(make_settings: Callable[..., Settings], fake: FakeModelServer) -> None:
    fake.script = [Reply(status=503)]
    with pytest.raises(RetryableJobError):
        await _run(_settings(make_settings, fake, "gemini"))


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_timeout_is_retryable(
    make_settings: Callable[..., Settings], fake: FakeModelServer, provider: str
) -> None:
    fake.script = [Reply(args={"allowed": True, "reason": "late"}, delay=1.5)]
    settings = _settings(make_settings, fake, provider, ai_call_timeout_seconds=0.3)
    # Build the client first: the first one in a process imports pydantic-ai (seconds on a busy
    # machine), which is not the call timeout this test times. The chain reuses this loop's slot.
    get_slot(provider, settings)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RetryableJobError):
        await _run(settings)
    assert loop.time() - started < 1.2


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_malformed_output_is_retried_then_fails_clearly(
    make_settings: Callable[..., Settings], fake: FakeModelServer, provider: str
) -> None:
    fake.default = Reply(args={"allowed": "perhaps", "oops": 1})
    with pytest.raises(PermanentJobError) as info:
        await _run(_settings(make_settings, fake, provider))
    assert info.value.code == "model_output_invalid"
    assert len(fake.requests) == 2  # the first answer plus ai_output_retries=1 retry


async def test_malformed_then_valid_output_succeeds(
    make_settings: Callable[..., Settings], fake: FakeModelServer
) -> None:
    fake.script = [Reply(args={"allowed": "perhaps"})]
    outcome = await _run(_settings(make_settings, fake, "openai"))
    assert outcome.output.reason == "fine"
    assert len(fake.requests) == 2
    # pydantic-ai told the model what was wrong in the retry request.
    assert "allowed" in str(fake.requests[1].body["messages"][-1])


async def test_validator_makes_the_model_retry(
    make_settings: Callable[..., Settings], fake: FakeModelServer
) -> None:
    fake.script = [Reply(args={"allowed": True, "reason": "bad"})]

    def validate(v: Verdict) -> None:
        if v.reason == "bad":
            raise ValueError("reason must not be 'bad'")

    outcome = await _run(_settings(make_settings, fake, "gemini"), validate=validate)
    assert outcome.output.reason == "fine"
    assert "reason must not be 'bad'" in str(fake.requests[1].body["contents"])


async def test_fallback_to_next_provider_on_429(
    make_settings: Callable[..., Settings], fake: FakeModelServer
) -> None:
    fake.script = [Reply(status=429)]
    outcome = await _run(_settings(make_settings, fake, "openai,gemini"))
    assert outcome.provider == "gemini"
    assert [s.api for s in fake.requests] == ["openai", "gemini"]


async def test_fallback_to_offline_when_models_fail(
    make_settings: Callable[..., Settings], fake: FakeModelServer
) -> None:
    fake.default = Reply(status=500)
    outcome = await _run(_settings(make_settings, fake, "gemini,offline"))
    assert outcome.provider == "offline"
    assert outcome.output.reason == "offline"


async def test_concurrency_is_bounded_per_provider(
    make_settings: Callable[..., Settings], fake: FakeModelServer
) -> None:
    fake.default = Reply(args={"allowed": True, "reason": "slow"}, delay=0.2)
    settings = _settings(make_settings, fake, "openai", ai_max_concurrency=2)
    await asyncio.gather(*(_run(settings) for _ in range(5)))
    assert len(fake.requests) == 5
    assert fake.max_in_flight == 2


async def test_saturated_provider_spills_to_the_next(
    make_settings: Callable[..., Settings], fake: FakeModelServer
) -> None:
    fake.default = Reply(args={"allowed": True, "reason": "slow"}, delay=0.3)
    settings = _settings(make_settings, fake, "openai,offline", ai_max_concurrency=1)
    outcomes = await asyncio.gather(*(_run(settings) for _ in range(3)))
    assert sorted(o.provider for o in outcomes) == ["offline", "offline", "openai"]


def test_unknown_or_unconfigured_providers_fail_loudly(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ProviderConfigError):
        provider_chain(make_settings(ai_provider="offline,claude"))
    assert provider_chain(make_settings()) == ["offline"]


async def test_missing_configuration_fails_the_job_clearly_or_falls_through(
    make_settings: Callable[..., Settings],
) -> None:
    with pytest.raises(PermanentJobError) as info:
        await _run(make_settings(ai_provider="gemini"))
    assert info.value.code == "ai_not_configured"
    assert "GEMINI" not in info.value.message  # the operator's log has details, the user does not
    with pytest.raises(PermanentJobError) as info:
        await _run(make_settings(ai_provider="claude"))
    assert info.value.code == "ai_not_configured"
    outcome = await _run(make_settings(ai_provider="gemini,offline"))
    assert outcome.provider == "offline"


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_prompted_output_mode_for_servers_without_tools(
    make_settings: Callable[..., Settings], fake: FakeModelServer, provider: str
) -> None:
    outcome = await _run(_settings(make_settings, fake, provider, ai_output_mode="prompted"))
    assert outcome.output == Verdict(allowed=True, reason="fine")
    [seen] = fake.requests
    assert not seen.body.get("tools")
    assert "allowed" in system_text(seen.api, seen.body)  # the schema travels in the instructions


async def test_prompts_and_questions_never_reach_the_logs(
    make_settings: Callable[..., Settings], fake: FakeModelServer, chain_logs: list[dict[str, Any]]
) -> None:
    fake.script = [Reply(status=429), Reply(args={"allowed": "x"}), Reply(args={"allowed": "x"})]
    settings = _settings(make_settings, fake, "openai,gemini")
    logs = chain_logs
    with pytest.raises(RetryableJobError):
        await _run(settings)
    assert [entry["kind"] for entry in logs] == ["retryable", "invalid_output"]
    for text in ("SECRET-INSTRUCTIONS", "Will it rain?"):
        assert text not in str(logs)
