"""Text to vectors for the memory: an OpenAI-compatible ``/v1/embeddings`` endpoint, or offline.

Every vector is :data:`EMBEDDING_DIMENSIONS` wide and unit length (cosine = dot product). A
server giving wider vectors (text-embedding-3 models are trained so a prefix still works) is
cut to that width and renormalized; a narrower one is a configuration error.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from conjure.apps.assistant.models import EMBEDDING_DIMENSIONS
from conjure.apps.assistant.thai import is_thai, thai_features

if TYPE_CHECKING:
    from conjure.apps.assistant.settings import AssistantSettings

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
# Words too common to say what a sentence is about.
STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "i",
        "me",
        "my",
        "mine",
        "you",
        "your",
        "yours",
        "we",
        "our",
        "is",
        "am",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "and",
        "or",
        "but",
        "so",
        "that",
        "this",
        "it",
        "its",
        "what",
        "which",
        "who",
        "whom",
        "how",
        "when",
        "where",
        "why",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "not",
        "no",
        "yes",
        "please",
        "tell",
        "about",
        "just",
        "really",
        "very",
        "some",
        "any",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
    }
)


class EmbeddingError(Exception):
    """The embeddings endpoint failed or answered something unusable."""


class Embedder(Protocol):
    name: str

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def normalized(vector: Sequence[float], width: int = EMBEDDING_DIMENSIONS) -> list[float]:
    if len(vector) < width:
        raise EmbeddingError(f"the embeddings are {len(vector)} wide, {width} are needed")
    cut = list(vector[:width])
    norm = math.sqrt(sum(v * v for v in cut)) or 1.0
    return [v / norm for v in cut]


def content_words(text: str) -> list[str]:
    """The words that carry meaning, lower-cased, possessives and plurals folded (Thai, written
    without spaces, has features of its own: :func:`~conjure.apps.assistant.thai.thai_features`)."""
    words = []
    for word in _WORD.findall(text.lower()):
        word = word.removesuffix("'s")
        if word in STOP_WORDS or len(word) < 2 or is_thai(word):
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    return words


class OfflineEmbedder:
    """Deterministic, no weights: content words and their character trigrams hashed into signed
    buckets (the hashing trick), so texts sharing words or word parts point the same way. Thai
    text counts by its character pairs (no spaces to find its words by), each as much as a word."""

    name = "offline-hash-v1"

    def vector(self, text: str) -> list[float]:
        vector = [0.0] * EMBEDDING_DIMENSIONS
        features = [(feature, 1.0) for feature in thai_features(text)]
        for word in content_words(text):
            features.append((word, 1.0))
            features.extend((f"#{word[i : i + 3]}", 0.3) for i in range(max(len(word) - 2, 0)))
        for feature, weight in features:
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "big") % EMBEDDING_DIMENSIONS
            vector[bucket] += weight if digest[4] & 1 else -weight
        if not any(vector):
            vector[0] = 1.0  # nothing to go on: a fixed direction, far from real memories
        return normalized(vector)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.vector(text) for text in texts]


class ApiEmbedder:
    """An OpenAI-compatible embeddings endpoint (OpenAI, a local llama.cpp/Ollama/vLLM server)."""

    def __init__(self, settings: AssistantSettings) -> None:
        base = settings.assistant_embeddings_base_url.rstrip("/")
        self.base_url = base if base.endswith("/v1") else base + "/v1"
        self.model = settings.assistant_embeddings_model
        key = settings.assistant_embeddings_api_key
        self.api_key = key.get_secret_value() if key else "not-needed"
        self.name = self.model

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        import openai

        # Only text-embedding-3 models take a width; others answer their own and are cut.
        width = EMBEDDING_DIMENSIONS if self.model.startswith("text-embedding-3") else openai.omit
        try:
            async with openai.AsyncOpenAI(
                base_url=self.base_url, api_key=self.api_key, timeout=20.0, max_retries=1
            ) as client:
                response = await client.embeddings.create(
                    model=self.model, input=list(texts), dimensions=width
                )
        except openai.OpenAIError as exc:
            raise EmbeddingError(f"embeddings failed: {type(exc).__name__}") from exc
        ordered = sorted(response.data, key=lambda item: item.index)
        if len(ordered) != len(texts):
            raise EmbeddingError("the embeddings endpoint answered a different number of vectors")
        return [normalized(item.embedding) for item in ordered]


def make_embedder(settings: AssistantSettings) -> Embedder:
    """ASSISTANT_EMBEDDINGS_BASE_URL's endpoint, else the offline embedder."""
    if settings.assistant_embeddings_base_url:
        return ApiEmbedder(settings)
    return OfflineEmbedder()
