"""``GET /api/v1/reports/usage`` (the caller's) and ``GET /api/v1/admin/reports/usage`` (everyone's,
as JSON or CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from conjure.auth.deps import AdminUser, CurrentUser
from conjure.db import utcnow
from conjure.deps import RuntimeDep, SessionDep
from conjure.kit.params import IsoDateTime
from conjure.reports.schemas import (
    USER_DIMENSIONS,
    AdminUsageReport,
    AdminUsageRow,
    Dimension,
    UsageReport,
    UsageRow,
)
from conjure.reports.service import MAX_DAYS, InvalidReportRange, Report, Totals, usage_report

router = APIRouter(tags=["reports"])
DEFAULT_DAYS = 30
RANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "A grouping it cannot make (`invalid_report_range`)"}
}

From = Annotated[
    IsoDateTime | None, Query(alias="from", description="Start (inclusive); default 30 days ago.")
]
To = Annotated[IsoDateTime | None, Query(alias="to", description="End (exclusive); default now.")]


def _dimension_list(names: str) -> str:
    return rf"^\s*({names})\s*(,\s*({names})\s*)*$"


UserGroupBy = Annotated[
    str, Query(pattern=_dimension_list("day|app|kind"), description="Comma-separated: day, app, kind.")
]
AdminGroupBy = Annotated[
    str,
    Query(
        pattern=_dimension_list("day|app|kind|provider|user"),
        description="Comma-separated: day, app, kind, provider, user.",
    ),
]


def _range(start: dt.datetime | None, end: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """The period asked for; an empty or backwards one is empty, a longer one than a report
    covers starts ``MAX_DAYS`` before its end (the answer's ``start`` says so)."""
    end = _aware(end) if end else utcnow()
    start = _aware(start) if start else end - dt.timedelta(days=DEFAULT_DAYS)
    return max(min(start, end), end - dt.timedelta(days=MAX_DAYS)), end


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _dimensions(text: str, allowed: frozenset[Dimension]) -> list[Dimension]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    found: list[Dimension] = []
    for name in names:
        if name not in {d.value for d in allowed}:
            choices = ", ".join(sorted(d.value for d in allowed))
            raise InvalidReportRange(f"Cannot group by {name!r}; choose from {choices}.")
        if Dimension(name) not in found:
            found.append(Dimension(name))
    if not found:
        raise InvalidReportRange("Name at least one dimension to group by.")
    return found


def _row(group: dict[str, str], totals: Totals) -> UsageRow:
    ended = totals.succeeded + totals.failed
    return UsageRow(
        group=group,
        jobs=round(totals.jobs),
        succeeded=round(totals.succeeded),
        failed=round(totals.failed),
        success_rate=round(totals.succeeded / ended, 4) if ended else None,
        input_tokens=totals.input_tokens,
        output_tokens=totals.output_tokens,
        credits_charged=round(totals.credits, 4),
    )


def _admin_row(group: dict[str, str], totals: Totals, star_value: float) -> AdminUsageRow:
    revenue = totals.credits * star_value
    return AdminUsageRow(
        **_row(group, totals).model_dump(),
        provider_cost_usd=round(totals.cost_usd, 6),
        revenue_usd=round(revenue, 6),
        margin_usd=round(revenue - totals.cost_usd, 6),
    )


def _groups(report: Report, group_by: list[Dimension]) -> list[dict[str, str]]:
    return [dict(zip((d.value for d in group_by), key, strict=True)) for key in report.groups]


@router.get("/api/v1/reports/usage", responses=RANGE_ERRORS)
async def my_usage(
    session: SessionDep, user: CurrentUser, start: From = None, end: To = None, group_by: UserGroupBy = "day"
) -> UsageReport:
    """The caller's jobs, tokens and stars spent in a period, by day, app or kind."""
    dims = _dimensions(group_by, USER_DIMENSIONS)
    start, end = _range(start, end)
    report = await usage_report(session, start=start, end=end, group_by=dims, user_id=user.id)
    rows = [_row(g, t) for g, t in zip(_groups(report, dims), report.groups.values(), strict=True)]
    return UsageReport(start=start, end=end, group_by=dims, rows=rows, total=_row({}, report.total))


@router.get(
    "/api/v1/admin/reports/usage",
    responses={**RANGE_ERRORS, 200: {"content": {"text/csv": {}}, "description": "JSON, or CSV"}},
    response_model=AdminUsageReport,
)
async def admin_usage(
    session: SessionDep,
    runtime: RuntimeDep,
    _admin: AdminUser,
    start: From = None,
    end: To = None,
    group_by: AdminGroupBy = "day",
    format: Literal["json", "csv"] = "json",
) -> AdminUsageReport | Response:
    """Everyone's jobs, success rate, tokens, provider cost, credits, revenue and margin (CSV too)."""
    dims = _dimensions(group_by, frozenset(Dimension))
    start, end = _range(start, end)
    report = await usage_report(session, start=start, end=end, group_by=dims)
    value = runtime.settings.report_star_value_usd
    rows = [
        _admin_row(g, t, value) for g, t in zip(_groups(report, dims), report.groups.values(), strict=True)
    ]
    result = AdminUsageReport(
        start=start,
        end=end,
        group_by=dims,
        star_value_usd=value,
        rows=rows,
        total=_admin_row({}, report.total, value),
    )
    if format == "csv":
        return _csv(result)
    return result


def _csv(report: AdminUsageReport) -> Response:
    out = io.StringIO()
    metrics = [name for name in AdminUsageRow.model_fields if name != "group"]
    writer = csv.writer(out)
    writer.writerow([d.value for d in report.group_by] + metrics)
    for row in [*report.rows, report.total]:
        group = [row.group.get(d.value, "total" if not row.group else "") for d in report.group_by]
        writer.writerow(group + ["" if getattr(row, m) is None else getattr(row, m) for m in metrics])
    name = f"usage-{report.start.date().isoformat()}-{report.end.date().isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
