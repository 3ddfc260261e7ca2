"""Tarot test helpers: a JobContext stand-in and a fake model that answers each pipeline step."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conjure.runtime import Runtime
from tests.ai.fakes import user_prompt
from tests.jobcontext import FromRuntime


@dataclass
class FakeContext(FromRuntime):
    """What the engine hands a handler, recording progress and usage for assertions."""

    payload: Mapping[str, Any]
    runtime: Runtime
    job_id: uuid.UUID = field(default_factory=uuid.uuid4)
    user_id: uuid.UUID | None = None
    attempt: int = 1
    steps: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    usage: list[dict[str, Any]] = field(default_factory=list)

    async def progress(
        self, step: str, *, message: str | None = None, data: Mapping[str, Any] | None = None
    ) -> None:
        self.steps.append((step, dict(data or {})))

    def record_usage(self, **usage: Any) -> None:
        self.usage.append(usage)

    max_attempts: int = 3


def _properties(api: str, body: dict[str, Any]) -> set[str]:
    if api == "openai":
        schema = body["tools"][0]["function"]["parameters"]
    else:
        decl = body["tools"][0]["functionDeclarations"][0]
        schema = decl.get("parameters_json_schema") or decl.get("parametersJsonSchema") or decl["parameters"]
    return set(schema["properties"])


def step_answer(api: str, *, wrong_cards_first: list[bool] | None = None) -> Any:
    """A reply function: a verdict, an analysis, or a reading of exactly the cards in the prompt."""

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        props = _properties(api, body)
        if "allowed" in props:
            return {"allowed": True, "reason": "A sincere question."}
        if "category" in props:
            return {
                "category": "career",
                "emotion": "hopeful",
                "timeframe": "near_future",
                "themes": ["new job"],
            }
        sent = json.loads(user_prompt(api, body))
        cards = [
            {
                "position": c["position"],
                "card": c["card"],
                "interpretation": f"{c['card']} speaks to your question.",
            }
            for c in sent["cards"]
        ]
        if wrong_cards_first:
            wrong_cards_first.pop()
            cards = cards[:-1]
        return {"cards": cards, "synthesis": "It comes together.", "advice": "Prepare well."}

    return answer
