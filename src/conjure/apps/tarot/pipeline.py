"""The reading pipeline (seed 000 "Agent Pipeline Engine"): filter → analyze → draw → read → format.

Model steps are pydantic-ai agents with typed outputs run through the provider
chain; the draw is a plain tool (the OS CSPRNG, never a model), so what was drawn
is exactly what the reading interprets and what is stored for audit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from conjure.ai.chain import ModelChain
from conjure.ai.prompts import PromptSet, load_prompts
from conjure.ai.providers import OFFLINE
from conjure.ai.usage import StepUsage, summarize
from conjure.apps.tarot import offline
from conjure.apps.tarot.agents import FilterVerdict, QuestionAnalysis, ReadingDraft
from conjure.apps.tarot.deck import Draw, draw_cards
from conjure.apps.tarot.settings import TarotSettings
from conjure.jobs.registry import PermanentJobError
from conjure.settings import Settings

PROMPT_NAMES = ["QUESTION-FILTER", "QUESTION-ANALYSIS", "READING-AGENT"]
SCHEMA_VERSION = "1"
LANGUAGE_NAMES = {"th": "Thai", "en": "English"}


class Reporter(Protocol):
    """The part of a JobContext the pipeline uses (progress and usage)."""

    async def progress(
        self, step: str, *, message: str | None = None, data: Mapping[str, Any] | None = None
    ) -> None: ...

    def record_usage(
        self,
        *,
        provider: str,
        step: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost_usd: float = 0.0,
        model: str | None = None,
    ) -> None: ...


@lru_cache(maxsize=16)
def _prompts(question_filter: str, question_analysis: str, reading_agent: str) -> PromptSet:
    overrides = {
        "QUESTION-FILTER": question_filter,
        "QUESTION-ANALYSIS": question_analysis,
        "READING-AGENT": reading_agent,
    }
    return load_prompts("conjure.apps.tarot", PROMPT_NAMES, overrides)


def tarot_prompts(settings: Settings) -> PromptSet:
    """The packaged prompts with the ``PROMPT_*`` base64 overrides applied (cached)."""
    app = settings.for_app(TarotSettings)
    return _prompts(app.prompt_question_filter, app.prompt_question_analysis, app.prompt_reading_agent)


def packaged_prompt_version() -> str:
    """The version of the prompts as shipped (no overrides)."""
    return _prompts("", "", "").version


def check_reading_matches(draw: Draw) -> Callable[[ReadingDraft], None]:
    """A validator: the reading must cite exactly the drawn cards, in order (else the model retries)."""
    expected = [(d.position.key, d.card.name.casefold()) for d in draw.cards]

    def check(draft: ReadingDraft) -> None:
        got = [(c.position.strip().lower(), c.card.strip().casefold()) for c in draft.cards]
        if got != expected:
            wanted = ", ".join(f"{d.position.key}: {d.card.name}" for d in draw.cards)
            raise ValueError(f"Interpret exactly these cards in this order: {wanted}.")

    return check


@dataclass
class TarotPipeline:
    """One configured pipeline: settings, prompts and the provider chain."""

    settings: Settings
    prompts: PromptSet
    chain: ModelChain
    draw: Callable[[], Draw] = draw_cards

    @classmethod
    def from_settings(cls, settings: Settings) -> TarotPipeline:
        return cls(settings=settings, prompts=tarot_prompts(settings), chain=ModelChain(settings))

    async def run(self, question: str, reporter: Reporter) -> dict[str, Any]:
        """Run every step for one question and return the result stored on the job."""
        started = time.perf_counter()
        usage: list[StepUsage] = []
        lang = offline.detect_language(question)

        await reporter.progress("filtering", message="Checking the question")
        verdict = await self._step(
            "filter",
            FilterVerdict,
            "QUESTION-FILTER",
            question,
            lambda: offline.screen_question(question),
            usage,
        )
        self._report_usage(reporter, usage[-1])
        if not verdict.allowed:
            raise PermanentJobError("question_not_allowed", verdict.reason or "This question cannot be read.")

        await reporter.progress("analyzing", message="Understanding the question")
        analysis = await self._step(
            "analyze",
            QuestionAnalysis,
            "QUESTION-ANALYSIS",
            question,
            lambda: offline.analyze_question(question),
            usage,
        )
        self._report_usage(reporter, usage[-1])

        draw = self.draw()
        await reporter.progress("drawing", message=f"Drawing {draw.card_count} cards", data=draw.as_dict())

        await reporter.progress("reading", message="Reading the cards")
        prompt = json.dumps(
            {
                "question": question,
                "language": LANGUAGE_NAMES[lang],
                "analysis": analysis.model_dump(),
                "cards": [
                    {
                        "position": d.position.key,
                        "position_meaning": d.position.focus,
                        "card": d.card.name,
                        "thai_name": d.card.name_th,
                        "orientation": d.orientation,
                        "keywords": list(d.keywords),
                        "meaning": d.meaning,
                    }
                    for d in draw.cards
                ],
            },
            ensure_ascii=False,
        )
        draft = await self.chain.run(
            "read",
            output_type=ReadingDraft,
            instructions=self.prompts["READING-AGENT"],
            prompt=prompt,
            offline=lambda: offline.compose_reading(question, analysis, draw, lang),
            validate=check_reading_matches(draw),
        )
        usage.append(draft.usage)
        self._report_usage(reporter, draft.usage)

        await reporter.progress("formatting", message="Preparing your reading")
        return format_result(
            question=question,
            lang=lang,
            analysis=analysis,
            draw=draw,
            draft=draft.output,
            prompt_version=self.prompts.version,
            usage=usage,
            processing_time_ms=int((time.perf_counter() - started) * 1000),
        )

    async def _step(
        self,
        step: str,
        output_type: type[Any],
        prompt_name: str,
        question: str,
        fallback: Callable[[], Any],
        usage: list[StepUsage],
    ) -> Any:
        outcome = await self.chain.run(
            step,
            output_type=output_type,
            instructions=self.prompts[prompt_name],
            prompt=question,
            offline=fallback,
        )
        usage.append(outcome.usage)
        return outcome.output

    @staticmethod
    def _report_usage(reporter: Reporter, step: StepUsage) -> None:
        reporter.record_usage(
            provider=step.provider,
            model=step.model,
            step=step.step,
            input_tokens=step.input_tokens,
            output_tokens=step.output_tokens,
            cost_usd=step.cost_usd,
        )


def format_result(
    *,
    question: str,
    lang: str,
    analysis: QuestionAnalysis,
    draw: Draw,
    draft: ReadingDraft,
    prompt_version: str,
    usage: list[StepUsage],
    processing_time_ms: int,
) -> dict[str, Any]:
    """Step 5: the result shape of DESIGN.md (question, analysis, cards, reading, versions, timing)."""
    interpretations = [c.interpretation for c in draft.cards]
    cards = [
        {**d.as_dict(), "interpretation": text} for d, text in zip(draw.cards, interpretations, strict=True)
    ]
    thai = lang == "th"
    sections = ["คำทำนาย (Reading)" if thai else "Reading"]
    for d, text in zip(draw.cards, interpretations, strict=True):
        label = d.position.label_th if thai else d.position.label
        name = f"{d.card.name_th} ({d.card.name})" if thai else d.card.name
        turned = {"reversed": " กลับหัว" if thai else " (reversed)"}.get(d.orientation, "")
        sections.append(f"{label} · {name}{turned}\n{text}")
    text = "\n\n".join([*sections, draft.synthesis, draft.advice])
    reader = usage[-1].provider
    return {
        "question": question,
        "language": lang,
        "analysis": analysis.model_dump(),
        "draw_id": draw.draw_id,
        "card_count": draw.card_count,
        "cards": cards,
        "reading": text,
        "synthesis": draft.synthesis,
        "advice": draft.advice,
        "prompt_version": prompt_version,
        "schema_version": SCHEMA_VERSION,
        "processing_time_ms": processing_time_ms,
        "provider": reader,
        "providers": {u.step: u.provider for u in usage},
        "offline": reader == OFFLINE,
        "usage": summarize(usage),
    }
