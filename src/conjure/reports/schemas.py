"""Request options and rows of the usage reports."""

from __future__ import annotations

import datetime as dt
import enum

from pydantic import BaseModel, Field


class Dimension(enum.StrEnum):
    """What a report row is grouped by."""

    DAY = "day"
    APP = "app"
    KIND = "kind"
    PROVIDER = "provider"
    USER = "user"


USER_DIMENSIONS = frozenset({Dimension.DAY, Dimension.APP, Dimension.KIND})


class UsageRow(BaseModel):
    """One group's usage; ``group`` maps each dimension grouped by to this row's value."""

    group: dict[str, str]
    jobs: int = Field(description="Jobs submitted in the period.")
    succeeded: int
    failed: int = Field(description="Jobs that ended failed, dead-lettered or canceled.")
    success_rate: float | None = Field(description="succeeded / ended jobs; null when none ended.")
    input_tokens: int
    output_tokens: int
    credits_charged: float = Field(description="Stars captured from wallets (the ledger's capture rows).")


class AdminUsageRow(UsageRow):
    """A row of the admin report, with what the work cost and earned."""

    provider_cost_usd: float
    revenue_usd: float = Field(description="credits_charged × REPORT_STAR_VALUE_USD.")
    margin_usd: float = Field(description="revenue_usd − provider_cost_usd.")


class UsageReport(BaseModel):
    """The caller's usage in ``[start, end)``, grouped as asked, and the totals."""

    start: dt.datetime
    end: dt.datetime
    group_by: list[Dimension]
    rows: list[UsageRow]
    total: UsageRow


class AdminUsageReport(BaseModel):
    """Everyone's usage in ``[start, end)``, grouped as asked, and the totals."""

    start: dt.datetime
    end: dt.datetime
    group_by: list[Dimension]
    star_value_usd: float
    rows: list[AdminUsageRow]
    total: AdminUsageRow
