"""The local model: an OpenAI-compatible server (llama.cpp, Ollama, vLLM) serving Llama 3.1 8B.

One client per event loop, kept for the process's life like the platform's model providers
(``conjure.ai.providers``): its connection pool makes each answer's first token come sooner.

Streams a chat completion with the official OpenAI client (no retries of its own: the router
decides what a failure means). :class:`LocalModelError` says whether the server failed before
the first token (the router may still send the message elsewhere) or in the middle.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from typing import TYPE_CHECKING, Any

from conjure.apps.assistant.responders import Answer, ChatRequest, OnDelta, rough_tokens, system_prompt

if TYPE_CHECKING:
    from conjure.apps.assistant.settings import AssistantSettings


_DONE: dict[str, Any] = {}  # the stream's "[DONE]"


def _event(line: str) -> dict[str, Any] | None:
    """One server-sent line's chunk (``data: {...}``); None for other lines, ``_DONE`` at the end."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if data == "[DONE]":
        return _DONE
    chunk = json.loads(data) if data else None
    return chunk if isinstance(chunk, dict) else None


class LocalModelError(Exception):
    """The local server failed (connection, timeout, 429/5xx); ``started``: after some text was sent."""

    def __init__(self, message: str, *, started: bool, transient: bool = True) -> None:
        super().__init__(message)
        self.started = started
        self.transient = transient


def chat_messages(request: ChatRequest) -> list[dict[str, str]]:
    """The request in the OpenAI chat format: the system prompt, then the conversation."""
    turns = [{"role": "system", "content": system_prompt(request)}]
    return turns + [{"role": turn.role, "content": turn.content} for turn in request.history]


class LocalModel:
    """One OpenAI-compatible server; a client per call (the server is on the same network)."""

    name = "local"

    def __init__(self, settings: AssistantSettings) -> None:
        self.base_url = settings.assistant_local_base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model = settings.assistant_local_model
        key = settings.assistant_local_api_key
        self.api_key = key.get_secret_value() if key else "not-needed"
        self.timeout = settings.assistant_local_timeout_seconds
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def _client(self) -> Any:
        """This event loop's client (made once: a client per call costs its set-up on every answer)."""
        from openai import AsyncOpenAI

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = AsyncOpenAI(
                base_url=self.base_url, api_key=self.api_key, timeout=self.timeout, max_retries=0
            )
        return client

    async def stream(self, request: ChatRequest, on_delta: OnDelta, *, route: str = "local") -> Answer:
        """Stream one answer; :class:`LocalModelError` on the server's failure."""
        return await stream_chat(self._client(), self.model, request, on_delta, route=route)


async def stream_chat(
    client: Any, model: str, request: ChatRequest, on_delta: OnDelta, *, route: str
) -> Answer:
    """Stream one chat completion from an OpenAI-compatible ``client`` (an ``AsyncOpenAI``);
    :class:`LocalModelError` on the server's failure. The API fallback uses it too for OpenAI
    models: the bare client costs a third of the CPU a pydantic-ai agent run does per answer,
    and every answer of a busy process shares one event loop."""
    import httpx
    import openai

    started = time.perf_counter()
    first: float | None = None
    parts: list[str] = []
    usage: dict[str, Any] = {}
    try:
        async with client.chat.completions.with_streaming_response.create(
            model=model,
            messages=chat_messages(request),
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=request.max_tokens,
        ) as response:  # closed however the loop ends (a cancel included)
            async for line in response.iter_lines():
                chunk = _event(line)
                if chunk is None:
                    continue
                if chunk is _DONE:
                    break
                if chunk.get("error"):
                    raise LocalModelError(str(chunk["error"])[:200], started=bool(parts))
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        if first is None:
                            first = time.perf_counter()
                        parts.append(text)
                        await on_delta(text)
    except (openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError) as exc:
        raise LocalModelError(type(exc).__name__, started=bool(parts)) from exc
    except openai.APIStatusError as exc:
        transient = exc.status_code in (408, 409, 429) or exc.status_code >= 500
        raise LocalModelError(f"HTTP {exc.status_code}", started=bool(parts), transient=transient) from exc
    except (httpx.HTTPError, ValueError) as exc:  # the connection broke, or a chunk was not JSON
        raise LocalModelError(type(exc).__name__, started=bool(parts)) from exc
    text = "".join(parts)
    return Answer(
        text=text,
        model=model,
        route=route,
        input_tokens=int(
            usage.get("prompt_tokens", 0) if usage else rough_tokens(str(chat_messages(request)))
        ),
        output_tokens=int(usage.get("completion_tokens", 0) if usage else rough_tokens(text)),
        first_token_ms=None if first is None else (first - started) * 1000,
    )
