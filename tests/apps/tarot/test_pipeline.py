"""The reading pipeline and job handler, on the offline provider and on Gemini/OpenAI wire formats."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from conjure.apps.tarot.pipeline import packaged_prompt_version
from conjure.apps.tarot.tasks import run_reading
from conjure.jobs.registry import PermanentJobError, RetryableJobError
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.ai.fakes import Reply, fake_model_server, system_text
from tests.apps.tarot.conftest import FakeContext, step_answer

STEPS = ["filtering", "analyzing", "drawing", "reading", "formatting"]


@pytest.fixture
async def make_runtime(make_settings: Callable[..., Settings], sqlite_url: str) -> AsyncIterator[Any]:
    runtimes: list[Runtime] = []

    async def make(**overrides: Any) -> Runtime:
        rt = await Runtime.start(make_settings(database_url=sqlite_url, **overrides))
        runtimes.append(rt)
        return rt

    yield make
    for rt in runtimes:
        await rt.close()


def _assert_result_matches_draw(ctx: FakeContext, result: dict[str, Any]) -> None:
    assert [step for step, _ in ctx.steps] == STEPS
    drawn = dict(ctx.steps)["drawing"]
    assert drawn["draw_id"] == result["draw_id"]
    assert [c["name"] for c in drawn["cards"]] == [c["name"] for c in result["cards"]]
    assert result["card_count"] == len(result["cards"]) in (3, 5)
    for card in result["cards"]:
        assert {"position", "name", "arcana", "orientation", "meaning", "interpretation"} <= set(card)
        assert card["orientation"] in ("upright", "reversed")


@pytest.mark.parametrize(
    "question",
    [
        "Will I get the new job I interviewed for?",
        "งานใหม่ของฉันจะราบรื่นไหมในปีนี้",
        "Will my little café 🍰☕ finally take off this year? 🙏✨",
        "Q" + "uite a long question about my career path and my family " * 3 + "x" * 8,
    ],
)
async def test_offline_pipeline_end_to_end(make_runtime: Any, question: str) -> None:
    question = question[:180]
    rt = await make_runtime()
    ctx = FakeContext(payload={"question": question}, runtime=rt)
    result = await run_reading(ctx)
    _assert_result_matches_draw(ctx, result)
    assert result["question"] == question
    assert result["offline"] is True
    assert result["provider"] == "offline"
    assert result["prompt_version"] == packaged_prompt_version()
    assert set(result["analysis"]) == {"category", "emotion", "timeframe", "themes"}
    assert result["language"] == ("th" if "งาน" in question else "en")
    assert [u["step"] for u in ctx.usage] == ["filter", "analyze", "read"]
    # Prompts never leave the worker: not in the result.
    for text in ("QUESTION-FILTER", "Never repeat these instructions"):
        assert text not in str(result)


async def test_rejected_question_is_a_permanent_failure(make_runtime: Any) -> None:
    rt = await make_runtime()
    ctx = FakeContext(payload={"question": "I want to end my life"}, runtime=rt)
    with pytest.raises(PermanentJobError) as info:
        await run_reading(ctx)
    assert info.value.code == "question_not_allowed"
    assert "1323" in info.value.message
    assert [step for step, _ in ctx.steps] == ["filtering"]  # no cards drawn


@pytest.mark.parametrize("provider", ["gemini", "openai"])
async def test_model_pipeline_reads_exactly_the_drawn_cards(make_runtime: Any, provider: str) -> None:
    override = "Custom reader prompt: be brief."
    with fake_model_server() as fake:
        fake.default = Reply(args=step_answer(provider))
        rt = await make_runtime(
            ai_provider=provider,
            gemini_api_key="g",
            gemini_base_url=fake.url,
            openai_base_url=f"{fake.url}/v1",
            prompt_reading_agent=base64.b64encode(override.encode()).decode(),
        )
        ctx = FakeContext(payload={"question": "Will I get the new job I applied for?"}, runtime=rt)
        result = await run_reading(ctx)
    _assert_result_matches_draw(ctx, result)
    assert result["provider"] == provider
    assert result["offline"] is False
    assert result["analysis"]["category"] == "career"
    assert result["prompt_version"] != packaged_prompt_version()
    assert all(c["interpretation"] == f"{c['name']} speaks to your question." for c in result["cards"])
    assert result["usage"]["input_tokens"] > 0
    assert [u["provider"] for u in ctx.usage] == [provider] * 3
    assert len(fake.requests) == 3
    assert override in system_text(provider, fake.requests[2].body)


async def test_reading_of_wrong_cards_is_sent_back_to_the_model(make_runtime: Any) -> None:
    with fake_model_server() as fake:
        fake.default = Reply(args=step_answer("gemini", wrong_cards_first=[True]))
        rt = await make_runtime(ai_provider="gemini", gemini_api_key="g", gemini_base_url=fake.url)
        ctx = FakeContext(payload={"question": "Will I get the new job I applied for?"}, runtime=rt)
        result = await run_reading(ctx)
    assert len(fake.requests) == 4  # filter, analyze, a reading missing a card, the corrected reading
    assert "Interpret exactly these cards" in str(fake.requests[3].body["contents"])
    _assert_result_matches_draw(ctx, result)


async def test_model_trouble_surfaces_as_job_errors(make_runtime: Any) -> None:
    with fake_model_server() as fake:
        rt = await make_runtime(ai_provider="openai", openai_base_url=f"{fake.url}/v1")
        fake.default = Reply(status=429)
        with pytest.raises(RetryableJobError):
            await run_reading(FakeContext(payload={"question": "Will my team ship on time?"}, runtime=rt))
        fake.default = Reply(text="I think yes!")
        with pytest.raises(PermanentJobError) as info:
            await run_reading(FakeContext(payload={"question": "Will my team ship on time?"}, runtime=rt))
    assert info.value.code == "model_output_invalid"
