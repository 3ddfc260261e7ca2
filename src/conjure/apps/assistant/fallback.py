"""The API fallback: the chat answered by Conjure's own model providers (``AI_PROVIDER``'s chain,
OpenAI or Gemini), each with its provider's concurrency slot and breaker. OpenAI models stream
through the provider's own ``AsyncOpenAI`` client (:func:`conjure.apps.assistant.local.stream_chat`:
a plain chat has no tools for an agent to run, and an agent run costs three times the CPU on the
event loop all answers share); others through pydantic-ai.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from conjure.ai.providers import OFFLINE, ProviderConfigError, get_slot, provider_chain
from conjure.apps.assistant.local import LocalModelError, stream_chat
from conjure.apps.assistant.responders import Answer, ChatRequest, OnDelta, system_prompt
from conjure.observability.metrics import MODEL_LATENCY, MODEL_TOKENS

if TYPE_CHECKING:
    from conjure.ai.providers import ProviderSlot
    from conjure.settings import Settings


class _ProviderFailed(Exception):
    def __init__(self, *, started: bool) -> None:
        super().__init__("provider failed")
        self.started = started


class FallbackUnavailable(Exception):
    """No API provider could answer (none configured, all failing or their circuits open)."""

    def __init__(self, message: str, *, started: bool = False) -> None:
        super().__init__(message)
        self.started = started


def fallback_configured(settings: Settings) -> bool:
    """Whether AI_PROVIDER names a model provider (not only ``offline``) that has its settings."""
    try:
        names = [name for name in provider_chain(settings) if name != OFFLINE]
    except ProviderConfigError:
        return False
    return bool(names)


class ApiFallback:
    """Tries each provider of the chain in order, skipping those whose breaker is open."""

    name = "fallback"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def prepare(self) -> None:
        """Import the model client and make the providers' slots now (seconds of import that would
        otherwise stall the event loop on the first overflow, when the process is busiest)."""
        from pydantic_ai import Agent  # noqa: F401

        for name in provider_chain(self.settings):
            if name != OFFLINE:
                with contextlib.suppress(ProviderConfigError):
                    get_slot(name, self.settings)

    async def stream(self, request: ChatRequest, on_delta: OnDelta, *, route: str) -> Answer:
        failures: list[str] = []
        for name in provider_chain(self.settings):
            if name == OFFLINE:
                continue
            try:
                slot = get_slot(name, self.settings)
            except ProviderConfigError as exc:
                failures.append(f"{name}: {exc}")
                continue
            if not slot.breaker.allow():
                failures.append(f"{name}: circuit open")
                continue
            try:
                answer = await self._stream(slot, request, on_delta, route)
            except _ProviderFailed as exc:
                slot.breaker.record_failure()
                failures.append(f"{name}: {type(exc.__cause__).__name__}")
                if exc.started:  # some text went out already: another model cannot take over
                    raise FallbackUnavailable("; ".join(failures), started=True) from exc
                continue
            slot.breaker.record_success()
            return answer
        raise FallbackUnavailable("; ".join(failures) or "no API model configured")

    async def _stream(
        self, slot: ProviderSlot, request: ChatRequest, on_delta: OnDelta, route: str
    ) -> Answer:
        from pydantic_ai.models.openai import OpenAIChatModel

        if not isinstance(slot.model, OpenAIChatModel):
            return await self._agent_stream(slot, request, on_delta, route)
        started = time.perf_counter()
        async with slot.limiter:
            try:
                answer = await stream_chat(slot.model.client, slot.model_name, request, on_delta, route=route)
            except LocalModelError as exc:
                raise _ProviderFailed(started=exc.started) from exc
        MODEL_LATENCY.labels(slot.name, "assistant_answer").observe(time.perf_counter() - started)
        MODEL_TOKENS.labels(slot.name, "input").inc(answer.input_tokens)
        MODEL_TOKENS.labels(slot.name, "output").inc(answer.output_tokens)
        return answer

    async def _agent_stream(
        self, slot: ProviderSlot, request: ChatRequest, on_delta: OnDelta, route: str
    ) -> Answer:
        from pydantic_ai import Agent
        from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, UserPromptPart

        history: list[ModelMessage] = []
        for turn in request.history[:-1]:
            if turn.role == "assistant":
                history.append(ModelResponse(parts=[TextPart(turn.content)]))
            else:
                history.append(ModelRequest(parts=[UserPromptPart(turn.content)]))
        agent = Agent(slot.model, system_prompt=system_prompt(request))
        started = time.perf_counter()
        first: float | None = None
        parts: list[str] = []
        async with slot.limiter:
            try:
                async with agent.run_stream(
                    request.message,
                    message_history=history,
                    model_settings={"max_tokens": request.max_tokens},
                ) as result:
                    async for text in result.stream_text(delta=True, debounce_by=None):
                        if text:
                            first = first or time.perf_counter()
                            parts.append(text)
                            await on_delta(text)
                    usage = result.usage
            except Exception as exc:
                raise _ProviderFailed(started=bool(parts)) from exc
        MODEL_LATENCY.labels(slot.name, "assistant_answer").observe(time.perf_counter() - started)
        MODEL_TOKENS.labels(slot.name, "input").inc(usage.input_tokens or 0)
        MODEL_TOKENS.labels(slot.name, "output").inc(usage.output_tokens or 0)
        return Answer(
            text="".join(parts),
            model=slot.model_name,
            route=route,
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            first_token_ms=None if first is None else (first - started) * 1000,
        )
