"""The usage reports add up to the job rows and to the wallet ledger, on both backends."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import case, func, select

from conjure.app import create_app
from conjure.apps import AppSpec
from conjure.jobs.models import Job
from conjure.jobs.registry import JobContext, JobKind, PermanentJobError
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import User
from conjure.wallet.models import WalletTransaction
from tests.factories import auth_headers, make_user
from tests.jobs.conftest import FAST, running, submit, wait_status


async def two_models(ctx: JobContext) -> dict[str, Any]:
    """A pipeline that asked two providers (as a fallback chain does)."""
    ctx.record_usage(
        provider="gemini",
        model="gemini-2.5-flash",
        step="a",
        input_tokens=10,
        output_tokens=20,
        cost_usd=0.003,
    )
    ctx.record_usage(
        provider="openai", model="gpt-4o-mini", step="b", input_tokens=5, output_tokens=5, cost_usd=0.001
    )
    return {"ok": True}


async def refused(ctx: JobContext) -> dict[str, Any]:
    ctx.record_usage(provider="gemini", model="gemini-2.5-flash", step="a", input_tokens=7, output_tokens=0)
    raise PermanentJobError("content_policy", "Refused.")


APP = AppSpec(
    name="r",
    job_kinds=[
        JobKind(name="r.paid", handler=two_models, price_stars=2),
        JobKind(name="r.free", handler=two_models),
        JobKind(name="r.refused", handler=refused, price_stars=1),
    ],
)
STAR_VALUE = 0.5


@pytest.fixture
async def app_runtime(
    make_settings: Callable[..., Settings], backend: dict[str, str]
) -> AsyncIterator[Runtime]:
    settings = make_settings(**FAST, **backend, report_star_value_usd=STAR_VALUE)
    runtime = await Runtime.start(settings, apps=[APP])
    yield runtime
    await runtime.close()


@pytest.fixture
async def api(app_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=app_runtime, apps=[])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def _ledger_captures(runtime: Runtime, user: User | None = None) -> dict[str, int]:
    """Stars captured per job kind, straight from the ledger."""
    stmt = (
        select(Job.kind, func.sum(-WalletTransaction.amount))
        .join(Job, Job.id == WalletTransaction.related_job_id)
        .where(WalletTransaction.transaction_type == "capture")
        .group_by(Job.kind)
    )
    if user is not None:
        stmt = stmt.where(WalletTransaction.user_id == user.id)
    async with runtime.db.session() as session:
        return {kind: int(total) for kind, total in (await session.execute(stmt)).all()}


async def _job_counts(runtime: Runtime) -> dict[str, tuple[int, int]]:
    """(jobs, succeeded) per kind, straight from the jobs table."""
    succeeded = func.sum(case((Job.status == "succeeded", 1), else_=0))
    async with runtime.db.session() as session:
        rows = (await session.execute(select(Job.kind, func.count(), succeeded).group_by(Job.kind))).all()
    return {kind: (int(n), int(ok or 0)) for kind, n, ok in rows}


async def test_reports_add_up_to_the_ledger_and_the_job_rows(
    app_runtime: Runtime, api: httpx.AsyncClient
) -> None:
    runtime = app_runtime
    admin = await make_user(runtime, stars=10, admin=True)
    other = await make_user(runtime, stars=10)
    async with running(runtime):
        jobs = [
            await submit(runtime, "r.paid", {"n": 1}, user=admin),
            await submit(runtime, "r.paid", {"n": 2}, user=admin),
            await submit(runtime, "r.free", {"n": 3}, user=admin),
            await submit(runtime, "r.refused", {"n": 4}, user=admin),
            await submit(runtime, "r.paid", {"n": 5}, user=other),
            await submit(runtime, "r.refused", {"n": 6}, user=other),
        ]
        for job in jobs:
            await wait_status(runtime, job.id, "succeeded", "failed")

    body = (
        await api.get("/api/v1/admin/reports/usage?group_by=kind", headers=auth_headers(runtime, admin))
    ).json()
    rows = {row["group"]["kind"]: row for row in body["rows"]}
    captures = await _ledger_captures(runtime)
    assert captures == {"r.paid": 6}  # 3 paid jobs × 2 stars; refusals were released, not captured
    for kind, (count, succeeded) in (await _job_counts(runtime)).items():
        assert (rows[kind]["jobs"], rows[kind]["succeeded"]) == (count, succeeded)
        assert rows[kind]["credits_charged"] == captures.get(kind, 0)
    assert rows["r.refused"]["success_rate"] == 0
    assert rows["r.paid"]["success_rate"] == 1
    total = body["total"]
    assert total["jobs"] == 6
    assert total["credits_charged"] == 6
    assert (total["input_tokens"], total["output_tokens"]) == (4 * 15 + 2 * 7, 4 * 25)
    assert total["provider_cost_usd"] == pytest.approx(4 * 0.004)
    assert total["revenue_usd"] == pytest.approx(6 * STAR_VALUE)
    assert total["margin_usd"] == pytest.approx(6 * STAR_VALUE - 4 * 0.004)

    # By provider: each provider's tokens and cost, and the credits shared out add up to the total.
    by_provider = (
        await api.get("/api/v1/admin/reports/usage?group_by=provider", headers=auth_headers(runtime, admin))
    ).json()
    providers = {row["group"]["provider"]: row for row in by_provider["rows"]}
    assert set(providers) == {"gemini", "openai"}
    assert providers["gemini"]["provider_cost_usd"] == pytest.approx(4 * 0.003)
    assert providers["openai"]["input_tokens"] == 4 * 5
    assert sum(row["credits_charged"] for row in providers.values()) == pytest.approx(6)

    # CSV: the same rows and the total line.
    exported = await api.get(
        "/api/v1/admin/reports/usage?group_by=day,kind&format=csv", headers=auth_headers(runtime, admin)
    )
    assert exported.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    assert lines[-1]["day"] == "total"
    assert float(lines[-1]["credits_charged"]) == 6
    assert sum(int(line["jobs"]) for line in lines[:-1]) == 6

    # A user sees their own jobs only, and the stars the ledger took from them.
    mine = (await api.get("/api/v1/reports/usage?group_by=kind", headers=auth_headers(runtime, other))).json()
    assert {row["group"]["kind"]: row["jobs"] for row in mine["rows"]} == {"r.paid": 1, "r.refused": 1}
    assert mine["total"]["credits_charged"] == sum((await _ledger_captures(runtime, other)).values()) == 2
    assert "provider_cost_usd" not in mine["total"]


async def test_report_options_are_checked(app_runtime: Runtime, api: httpx.AsyncClient) -> None:
    user = await make_user(app_runtime)
    headers = auth_headers(app_runtime, user)
    refused = await api.get("/api/v1/reports/usage?group_by=provider", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    unknown = await api.get("/api/v1/reports/usage?group_by=day,colour", headers=headers)
    assert unknown.status_code == 422
    backwards = await api.get(
        "/api/v1/reports/usage?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", headers=headers
    )
    assert backwards.status_code == 200
    assert backwards.json()["start"] == backwards.json()["end"]  # an empty period
    assert backwards.json()["rows"] == []
    decades = await api.get(
        "/api/v1/reports/usage?from=2000-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", headers=headers
    )
    assert decades.json()["start"] == "2024-11-27T00:00:00Z"  # at most MAX_DAYS (400) back
    assert (await api.get("/api/v1/admin/reports/usage", headers=headers)).status_code == 403
    empty = (await api.get("/api/v1/reports/usage", headers=headers)).json()
    assert empty["rows"] == []
    assert empty["total"]["jobs"] == 0
    assert empty["total"]["success_rate"] is None
