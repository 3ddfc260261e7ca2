"""What the job engine tells operators once an attempt's outcome is durable: one structured log
line per successful job, and an error report for a job that reached the DLQ."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from conjure.observability.errors import report_job_failure
from conjure.observability.tracing import attempt_trace_ids

if TYPE_CHECKING:
    from conjure.jobs.attempt import Settlement

log = structlog.get_logger("conjure.jobs")


def observe_settled(settled: Settlement) -> None:
    """Called by the settler after commit for each terminal outcome (not for a scheduled retry)."""
    claim, status = settled.claim, settled.status
    if status == "succeeded":
        usage: dict[str, Any] = settled.outcome.usage or {}
        log.info(
            "job_succeeded",
            job_id=str(claim.job_id),
            kind=claim.kind,
            duration_ms=settled.attempt.get("processing_time_ms"),
            attempts=claim.attempt,
            input_tokens=usage.get("input_tokens", 0),
            output_tokens=usage.get("output_tokens", 0),
            cost_usd=usage.get("cost_usd", 0.0),
            credits=claim.price_stars,
            **attempt_trace_ids(claim.key),
        )
    elif status == "dlq":
        report_job_failure(
            job_id=str(claim.job_id),
            kind=claim.kind,
            status=status,
            code=settled.outcome.code,
            attempts=claim.attempt,
        )
