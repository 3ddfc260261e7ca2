"""The assistant's Prometheus metrics: which side answered and why, and each side's latency."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0)

ANSWERS = Counter(
    "conjure_assistant_answers_total",
    "Assistant answers by the side that wrote them (local, fallback, offline) and the routing reason",
    ["side", "route"],
)
FIRST_TOKEN = Histogram(
    "conjure_assistant_first_token_seconds",
    "Time from calling a model to its first token, per side",
    ["side"],
    buckets=_LATENCY_BUCKETS,
)
ANSWER_SECONDS = Histogram(
    "conjure_assistant_answer_seconds", "Whole answer time, per side", ["side"], buckets=_LATENCY_BUCKETS
)
LOCAL_IN_FLIGHT = Gauge("conjure_assistant_local_in_flight", "Calls to the local model in flight")
MODEL_LOAD_SECONDS = Gauge(
    "conjure_assistant_model_load_seconds", "How long the local model took to answer its warm-up call"
)
MEMORY_RETRIEVAL = Histogram(
    "conjure_assistant_memory_retrieval_seconds",
    "Memory retrieval time (embedding the message and searching the index)",
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
)
