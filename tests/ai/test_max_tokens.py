"""Every model request carries a server-side output cap (``max_tokens``) chosen per step by settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from conjure.ai.chain import ModelChain, max_tokens_for
from conjure.settings import Settings
from tests.ai.fakes import FakeModelServer, Reply, fake_model_server


class Verdict(BaseModel):
    allowed: bool
    reason: str


@pytest.fixture
def fake() -> Iterator[FakeModelServer]:
    with fake_model_server(default=Reply(args={"allowed": True, "reason": "fine"})) as server:
        yield server


def sent_cap(api: str, body: dict[str, Any]) -> Any:
    """The output cap as each wire format carries it."""
    if api == "openai":
        return body.get("max_completion_tokens", body.get("max_tokens"))
    return body.get("generationConfig", {}).get("maxOutputTokens")


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_each_request_carries_the_steps_cap(
    make_settings: Callable[..., Settings], fake: FakeModelServer, provider: str
) -> None:
    settings = make_settings(
        ai_provider=provider,
        openai_base_url=f"{fake.url}/v1",
        openai_api_key="sk-test",
        openai_model="local-llama",
        gemini_api_key="g-test",
        gemini_base_url=fake.url,
        ai_max_tokens=123,
        ai_max_tokens_per_step={"filter": 77},
    )
    chain = ModelChain(settings)
    for step in ("filter", "something-else"):
        await chain.run(
            step,
            output_type=Verdict,
            instructions="Judge.",
            prompt="Will it rain?",
            offline=lambda: Verdict(allowed=True, reason="offline"),
        )
    assert [sent_cap(seen.api, seen.body) for seen in fake.requests] == [77, 123]


def test_caps_come_from_settings_with_defaults_for_the_tarot_steps(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = make_settings()
    assert {step: max_tokens_for(defaults, step) for step in ("filter", "analyze", "read", "x")} == {
        "filter": 300,
        "analyze": 500,
        "read": 2000,
        "x": 1024,
    }
    monkeypatch.setenv("AI_MAX_TOKENS", "64")
    monkeypatch.setenv("AI_MAX_TOKENS_PER_STEP", '{"read": 900}')
    from_env = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (max_tokens_for(from_env, "read"), max_tokens_for(from_env, "filter")) == (900, 64)
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        make_settings(ai_max_tokens_per_step={"read": 0})
