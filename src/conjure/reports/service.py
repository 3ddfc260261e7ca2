"""Usage reports built from the two records of truth: the ``jobs`` rows (status, usage with its
per-call provider, tokens and cost) and the wallet ledger (stars captured per job).

Jobs are taken by submit time in ``[start, end)`` and folded in Python, streamed in batches, so one
code path serves SQLite and PostgreSQL (JSON and date functions differ between them). A job whose
calls went to several providers counts once under each provider in a by-provider report, with
that provider's tokens and cost; its credits are split among them by cost share (evenly when free).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.errors import ConjureError
from conjure.jobs.models import JOBS, JobStatus
from conjure.reports.schemas import Dimension
from conjure.wallet.models import TransactionType, WalletTransaction

MAX_DAYS = 400
ENDED_BADLY = frozenset({JobStatus.FAILED, JobStatus.DLQ, JobStatus.CANCELED})


class InvalidReportRange(ConjureError):
    code = "invalid_report_range"
    status = 422


@dataclass
class Totals:
    """What one group adds up to."""

    jobs: float = 0
    succeeded: float = 0
    failed: float = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    credits: float = 0

    def add(self, other: Totals) -> None:
        for name in ("jobs", "succeeded", "failed", "input_tokens", "output_tokens", "cost_usd", "credits"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Report:
    """Groups keyed by their dimension values, in first-seen order, and the totals."""

    groups: dict[tuple[str, ...], Totals] = field(default_factory=dict)
    total: Totals = field(default_factory=Totals)


def check_range(start: dt.datetime, end: dt.datetime) -> None:
    if end < start:
        raise InvalidReportRange("`to` must not be before `from`.")
    if end - start > dt.timedelta(days=MAX_DAYS):
        raise InvalidReportRange(f"A report covers at most {MAX_DAYS} days.")


async def usage_report(
    session: AsyncSession,
    *,
    start: dt.datetime,
    end: dt.datetime,
    group_by: list[Dimension],
    user_id: uuid.UUID | None = None,
) -> Report:
    """Jobs submitted in ``[start, end)`` (one user's, or everyone's), grouped by ``group_by``."""
    check_range(start, end)
    captured = (
        select(
            WalletTransaction.related_job_id.label("job_id"),
            func.sum(-WalletTransaction.amount).label("credits"),
        )
        .where(WalletTransaction.transaction_type == TransactionType.CAPTURE)
        .group_by(WalletTransaction.related_job_id)
        .subquery()
    )
    stmt = (
        select(
            JOBS.c.created_at, JOBS.c.kind, JOBS.c.user_id, JOBS.c.status, JOBS.c.usage, captured.c.credits
        )
        .outerjoin(captured, captured.c.job_id == JOBS.c.id)
        .where(JOBS.c.created_at >= start, JOBS.c.created_at < end)
        .order_by(JOBS.c.created_at)
    )
    if user_id is not None:
        stmt = stmt.where(JOBS.c.user_id == user_id)
    report = Report()
    rows = await session.stream(stmt.execution_options(yield_per=2000))
    async for created_at, kind, owner, status, usage, credits in rows:
        job = _job_totals(status, usage, int(credits or 0))
        report.total.add(job)
        for key, part in _shares(group_by, created_at, kind, owner, usage, job):
            report.groups.setdefault(key, Totals()).add(part)
    return report


def _job_totals(status: str, usage: dict[str, Any] | None, credits: int) -> Totals:
    usage = usage or {}
    return Totals(
        jobs=1,
        succeeded=1 if status == JobStatus.SUCCEEDED else 0,
        failed=1 if status in ENDED_BADLY else 0,
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        cost_usd=float(usage.get("cost_usd") or 0.0),
        credits=credits,
    )


def _shares(
    group_by: list[Dimension],
    created_at: dt.datetime,
    kind: str,
    owner: uuid.UUID | None,
    usage: dict[str, Any] | None,
    job: Totals,
) -> Iterable[tuple[tuple[str, ...], Totals]]:
    """The job's contribution to each group it falls in (one, or one per provider)."""
    fixed = {
        Dimension.DAY: created_at.astimezone(dt.UTC).date().isoformat(),
        Dimension.APP: kind.split(".", 1)[0],
        Dimension.KIND: kind,
        Dimension.USER: str(owner) if owner else "",
    }
    if Dimension.PROVIDER not in group_by:
        yield tuple(fixed[d] for d in group_by), job
        return
    for provider, part in _by_provider(usage, job).items():
        values = {**fixed, Dimension.PROVIDER: provider}
        yield tuple(values[d] for d in group_by), part


def _by_provider(usage: dict[str, Any] | None, job: Totals) -> dict[str, Totals]:
    calls = [c for c in (usage or {}).get("calls") or [] if isinstance(c, dict)]
    if not calls:
        return {"none": job}
    parts: dict[str, Totals] = {}
    for call in calls:
        part = parts.setdefault(str(call.get("provider") or "unknown"), Totals())
        part.input_tokens += int(call.get("input_tokens") or 0)
        part.output_tokens += int(call.get("output_tokens") or 0)
        part.cost_usd += float(call.get("cost_usd") or 0.0)
    cost = sum(p.cost_usd for p in parts.values())
    for part in parts.values():
        share = part.cost_usd / cost if cost > 0 else 1 / len(parts)
        part.jobs, part.succeeded, part.failed = job.jobs, job.succeeded, job.failed
        part.credits = job.credits * share
    return parts
