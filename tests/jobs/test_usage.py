"""Model usage counts every attempt: a failed attempt's calls were paid for, so the job's usage, the
usage reports and the console's job view add it up (both backends, free and priced kinds)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from conjure.console.service import job_detail
from conjure.db import utcnow
from conjure.jobs.attempt import add_usage
from conjure.jobs.models import JobAttempt, JobStatus
from conjure.reports.schemas import Dimension
from conjure.reports.service import usage_report
from conjure.runtime import Runtime
from tests.factories import make_user
from tests.jobs.conftest import running, submit, wait_status


@pytest.mark.parametrize("kind", ["t.metered_flaky", "t.paid_metered_flaky"])
async def test_a_failed_attempts_usage_counts_in_the_job_and_the_reports(engine: Runtime, kind: str) -> None:
    user = await make_user(engine, stars=3)
    job = await submit(engine, kind, {"fail_times": 1}, user=user)
    async with running(engine):
        done = await wait_status(engine, job.id, JobStatus.SUCCEEDED)
    assert done.attempts == 2
    # Attempt 1: offline 10/1/$0.001 + backup 7/0/$0.01 (failed); attempt 2: offline 20/2/$0.002.
    assert done.usage is not None
    assert (done.usage["input_tokens"], done.usage["output_tokens"]) == (37, 3)
    assert done.usage["cost_usd"] == pytest.approx(0.013)
    assert [c["provider"] for c in done.usage["calls"]] == ["offline", "backup", "offline"]

    async with engine.db.session() as session:
        attempts = (
            await session.scalars(
                select(JobAttempt).where(JobAttempt.job_id == job.id).order_by(JobAttempt.attempt_number)
            )
        ).all()
        assert [a.success for a in attempts] == [False, True]
        assert [a.usage and a.usage["input_tokens"] for a in attempts] == [17, 20]
        assert [a.usage and a.usage["cost_usd"] for a in attempts] == pytest.approx([0.011, 0.002])

        detail = await job_detail(session, job.id)
        assert detail.usage == done.usage
        assert [a.usage and a.usage["output_tokens"] for a in detail.attempts_list] == [1, 2]

        now = utcnow()
        hour = dt.timedelta(hours=1)
        window = {"start": now - hour, "end": now + hour, "user_id": user.id}
        total = (await usage_report(session, group_by=[Dimension.KIND], **window)).total
        assert (total.jobs, total.input_tokens, total.output_tokens) == (1, 37, 3)
        assert total.cost_usd == pytest.approx(0.013)
        by_provider = (await usage_report(session, group_by=[Dimension.PROVIDER], **window)).groups
        assert {key: part.cost_usd for key, part in by_provider.items()} == {
            ("offline",): pytest.approx(0.003),
            ("backup",): pytest.approx(0.01),
        }
        assert by_provider[("offline",)].input_tokens == 30


def test_adding_usage_keeps_a_missing_side_and_sums_the_rest() -> None:
    attempt = {"calls": [{"provider": "a"}], "input_tokens": 2, "output_tokens": 1, "cost_usd": 0.1}
    assert add_usage(None, None) is None
    assert add_usage(None, attempt) is attempt
    assert add_usage(attempt, None) is attempt
    other = {"calls": [{"provider": "b"}], "input_tokens": 3, "output_tokens": 0, "cost_usd": 0.2}
    both = add_usage(attempt, other)
    assert both == {
        "calls": [{"provider": "a"}, {"provider": "b"}],
        "input_tokens": 5,
        "output_tokens": 1,
        "cost_usd": 0.3,
    }
