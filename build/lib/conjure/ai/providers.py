"""Model providers by name (``offline``, ``gemini``, ``openai``) and per-process concurrency slots.

Clients are created lazily, once per event loop and configuration, never at import
time; each provider gets an ``asyncio.Semaphore`` of ``ai_max_concurrency`` so a
spike queues in the worker instead of flooding the provider, and a circuit breaker
(:mod:`conjure.ai.breaker`) so a provider that keeps failing is skipped for a while.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conjure.ai.breaker import CircuitBreaker
from conjure.settings import Settings

if TYPE_CHECKING:
    # pydantic-ai takes seconds to import; the offline default never needs it.
    from pydantic_ai.models import Model

OFFLINE = "offline"
KNOWN_PROVIDERS = (OFFLINE, "gemini", "openai")


class ProviderConfigError(ValueError):
    """``AI_PROVIDER`` names something unknown, or a provider lacks its key."""


@dataclass
class ProviderSlot:
    """One provider as this process uses it: its pydantic-ai model (None for offline), its limiter
    and its circuit breaker."""

    name: str
    model_name: str
    model: Model | None
    limiter: asyncio.Semaphore
    breaker: CircuitBreaker


_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, ...], ProviderSlot]] = (
    weakref.WeakKeyDictionary()
)


def provider_chain(settings: Settings) -> list[str]:
    """The configured fallback chain, validated (unknown names fail loudly at start-up)."""
    chain = [name.strip().lower() for name in settings.ai_provider if name.strip()]
    if not chain:
        return [OFFLINE]
    unknown = [name for name in chain if name not in KNOWN_PROVIDERS]
    if unknown:
        raise ProviderConfigError(f"unknown AI_PROVIDER entries {unknown}; use {list(KNOWN_PROVIDERS)}")
    return chain


def _build_model(name: str, settings: Settings) -> tuple[str, Model | None]:
    if name == OFFLINE:
        return "offline-rules-v1", None
    if name == "gemini":
        from pydantic_ai.models.google import GoogleModel
        from pydantic_ai.providers.google import GoogleProvider

        if settings.gemini_api_key is None:
            raise ProviderConfigError("AI_PROVIDER includes gemini but GEMINI_API_KEY is not set")
        provider = GoogleProvider(
            api_key=settings.gemini_api_key.get_secret_value(), base_url=settings.gemini_base_url or None
        )
        return settings.gemini_model, GoogleModel(settings.gemini_model, provider=provider)
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    # Local OpenAI-compatible servers (vLLM, llama.cpp, Ollama) accept any key.
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    if settings.openai_api_key is None and not settings.openai_base_url:
        raise ProviderConfigError(
            "AI_PROVIDER includes openai but neither OPENAI_API_KEY nor OPENAI_BASE_URL is set"
        )
    openai_provider = OpenAIProvider(base_url=settings.openai_base_url or None, api_key=key)
    return settings.openai_model, OpenAIChatModel(settings.openai_model, provider=openai_provider)


def _cache_key(name: str, settings: Settings) -> tuple[str, ...]:
    if name == "gemini":
        secret = settings.gemini_api_key.get_secret_value() if settings.gemini_api_key else ""
        return (name, settings.gemini_model, settings.gemini_base_url, str(hash(secret)))
    if name == "openai":
        secret = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        return (name, settings.openai_model, settings.openai_base_url, str(hash(secret)))
    return (name,)


def get_slot(name: str, settings: Settings) -> ProviderSlot:
    """The provider's model and semaphore for the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    slots = _SLOTS.setdefault(loop, {})
    key = (
        *_cache_key(name, settings),
        str(settings.ai_max_concurrency),
        str(settings.ai_breaker_failures),
        str(settings.ai_breaker_cooldown_seconds),
    )
    slot = slots.get(key)
    if slot is None:
        model_name, model = _build_model(name, settings)
        breaker = CircuitBreaker(
            name, failures=settings.ai_breaker_failures, cooldown=settings.ai_breaker_cooldown_seconds
        )
        limiter = asyncio.Semaphore(max(1, settings.ai_max_concurrency))
        slot = ProviderSlot(name, model_name, model, limiter, breaker)
        slots[key] = slot
    return slot
