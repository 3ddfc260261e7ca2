"""The assistant app's settings, read from the environment (``ASSISTANT_*``).

Read through the platform's settings: ``settings.for_app(AssistantSettings)``. With none set,
the assistant answers offline (an honest offline responder) and embeds memories offline.
"""

from __future__ import annotations

from typing import Any

from pydantic import PrivateAttr, SecretStr

from conjure.settings import AppSettings


class AssistantSettings(AppSettings):
    """What the assistant can be tuned with; the defaults are the embedded mode."""

    # The local OpenAI-compatible server (llama.cpp, Ollama, vLLM) serving the primary model;
    # unset: no local model (answers come from the fallback, else offline).
    assistant_local_base_url: str = ""
    assistant_local_model: str = "llama-3.1-8b-instruct-q4_k_m"
    assistant_local_api_key: SecretStr | None = None
    # Saturation: at this many calls in flight, a call that would wait longer than MAX_WAIT_MS
    # goes to the fallback instead.
    assistant_local_max_concurrency: int = 4
    assistant_local_max_wait_ms: int = 1500
    assistant_local_timeout_seconds: float = 60.0
    # The fallback: Conjure's API providers (AI_PROVIDER's chain, e.g. "openai" or "gemini");
    # "none": no fallback (the offline responder answers when the local model cannot).
    assistant_fallback: str = "platform"
    # Embeddings: an OpenAI-compatible /v1/embeddings endpoint; unset: the offline embedder.
    assistant_embeddings_base_url: str = ""
    assistant_embeddings_model: str = "text-embedding-3-small"
    assistant_embeddings_api_key: SecretStr | None = None
    # Memory extraction: "auto" asks the model (local, else the API fallback) when one is configured and
    # falls back to the patterns; "patterns": the patterns only. At most MAX_FACTS facts a message;
    # a fact at least UPDATE_SIMILARITY (cosine) like one remembered replaces it instead of adding.
    assistant_memory_extractor: str = "auto"
    assistant_memory_max_facts: int = 5
    assistant_memory_update_similarity: float = 0.8
    # Answers and their context.
    assistant_answer_timeout_seconds: float = 120.0
    assistant_history_messages: int = 20
    assistant_max_message_chars: int = 4000
    assistant_max_pending_messages: int = 3
    assistant_stream_flush_ms: int = 50
    # ... and the gap between deltas doubles from FLUSH_MS up to this (streaming.DeltaWriter).
    assistant_stream_flush_max_ms: int = 200
    # The job's own stream stores the answer's text in steps this far apart (database writes).
    assistant_job_stream_flush_ms: int = 500
    assistant_max_answer_tokens: int = 800
    # Memory: how many memories a message retrieves, and how fast their recency weight fades.
    assistant_memory_top_k: int = 5
    assistant_memory_half_life_days: float = 30.0
    # An answer waits at most this long for its memories (from when recall starts), then goes without.
    assistant_memory_budget_ms: int = 250
    # Price and limits: free messages a day, then each costs ASSISTANT_MESSAGE_PRICE_STARS.
    assistant_daily_messages: int = 50
    assistant_message_price_stars: int = 1
    assistant_meditation_price_stars: int = 2
    assistant_messages_rate_limit: str = "20/minute"
    # Meditations: an OpenAI-compatible speech endpoint; unset: eSpeak NG offline.
    assistant_tts_base_url: str = ""
    assistant_tts_model: str = "gpt-4o-mini-tts"
    assistant_tts_voice: str = "sage"
    assistant_tts_api_key: SecretStr | None = None
    assistant_espeak_voice: str = "en-us"
    assistant_espeak_voice_th: str = "th"  # eSpeak NG's voice for a Thai script
    assistant_speech_wpm: int = 130
    assistant_meditation_timeout_seconds: float = 600.0

    # The process's model router, made on first use (conjure.apps.assistant.routing).
    _responder: Any = PrivateAttr(default=None)
    # The process's embedder and memory index (conjure.apps.assistant.memory).
    _memory: Any = PrivateAttr(default=None)
