"""What answers a message: the :class:`Responder` protocol, its request and answer, and the
offline responder of the embedded default.

A responder streams its answer through ``on_delta`` (text chunks, in order) and returns the
whole :class:`Answer` with the model that wrote it and why that model was chosen (``route``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from conjure.apps.assistant.phrases import DEFAULT_LANGUAGE, Language, say

if TYPE_CHECKING:
    from conjure.jobs.registry import JobContext

OnDelta = Callable[[str], Awaitable[None]]
OFFLINE_MODEL = "offline"


@dataclass(frozen=True)
class Turn:
    """One message of the conversation as the model sees it."""

    role: str  # "system", "user" or "assistant"
    content: str


@dataclass(frozen=True)
class ChatRequest:
    """The conversation so far (oldest first, the new message last) and what is remembered."""

    history: Sequence[Turn]
    memories: Sequence[str] = ()
    offers: Sequence[str] = ()  # what the assistant can do for the person (delegation), as text
    max_tokens: int = 800
    language: Language = DEFAULT_LANGUAGE  # what the person reads (the page's language)

    @property
    def message(self) -> str:
        return self.history[-1].content if self.history else ""


@dataclass
class Answer:
    """A finished answer: its text, the model that wrote it, why that model, usage and cost."""

    text: str
    model: str
    route: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    first_token_ms: float | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def record_on(self, ctx: JobContext, step: str) -> None:
        """Count this answer's tokens and cost on the job that asked for it (its ``usage``)."""
        ctx.record_usage(
            provider=self.model,
            step=step,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost_usd=self.cost_usd,
        )


class Responder(Protocol):
    """Writes the answer to a conversation's newest message."""

    name: str

    async def answer(self, request: ChatRequest, on_delta: OnDelta) -> Answer: ...


def system_prompt(request: ChatRequest) -> str:
    """The instructions every model gets: who it is, what it remembers, what it can offer."""
    lines = ["You are Conjure's assistant: warm, brief and honest. " + say(request.language, "prompt")]
    if request.memories:
        lines.append("What you remember about this person (use it when it helps, never invent more):")
        lines.extend(f"- {memory}" for memory in request.memories)
    if request.offers:
        lines.append("You can also do these for the person; say the price and ask before doing one:")
        lines.extend(f"- {offer}" for offer in request.offers)
    return "\n".join(lines)


def rough_tokens(text: str) -> int:
    """A token count for usage when a server reports none (about four characters a token)."""
    return max(1, len(text) // 4) if text else 0


class OfflineResponder:
    """The embedded default: no language model. It says so, and still shows what it remembers
    and what it can do, so memory and delegation work end to end without any model."""

    name = OFFLINE_MODEL

    def __init__(self, *, chunk_delay: float = 0.0, route: str = "offline") -> None:
        self.chunk_delay = chunk_delay
        self.route = route

    def compose(self, request: ChatRequest) -> str:
        language = request.language
        parts = [say(language, "offline")]
        if request.memories:
            remembered = "; ".join(memory.rstrip(".") for memory in request.memories[:3])
            parts.append(say(language, "offline.remembered", remembered=remembered))
        if request.offers:
            parts.append(" ".join(request.offers))
        parts.append(say(language, "offline.later"))
        return " ".join(parts)

    async def answer(self, request: ChatRequest, on_delta: OnDelta) -> Answer:
        text = self.compose(request)
        words = text.split(" ")
        for index, word in enumerate(words):
            await on_delta(word if index == 0 else " " + word)
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
        prompt = system_prompt(request) + "".join(turn.content for turn in request.history)
        return Answer(
            text=text,
            model=OFFLINE_MODEL,
            route=self.route,
            input_tokens=rough_tokens(prompt),
            output_tokens=rough_tokens(text),
        )
