"""Token usage and cost of model calls, per step, as recorded on jobs and results."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class StepUsage:
    """What one pipeline step cost: who answered, tokens both ways, estimated USD, wall time."""

    step: str
    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(steps: list[StepUsage]) -> dict[str, Any]:
    """Totals plus the per-step list, the shape stored in ``usage`` columns."""
    return {
        "input_tokens": sum(s.input_tokens for s in steps),
        "output_tokens": sum(s.output_tokens for s in steps),
        "cost_usd": round(sum(s.cost_usd for s in steps), 8),
        "steps": [s.as_dict() for s in steps],
    }
