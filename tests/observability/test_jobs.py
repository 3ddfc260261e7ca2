"""Each successful job writes one structured log line: kind, duration, attempts, tokens, cost, credits."""

from __future__ import annotations

from typing import Any

import pytest

from conjure.observability import jobs as job_logs
from tests.factories import make_user
from tests.jobs.conftest import MakeRuntime, running, submit, wait_status


class Recorder:
    """Stands in for the module's logger (structlog's capture_logs misses an already cached one)."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append({"event": event, **fields})


async def test_one_log_line_per_successful_job(
    make_runtime: MakeRuntime, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = await make_runtime(database_url=sqlite_url, retry_base_seconds=0.01, retry_cap_seconds=0.02)
    user = await make_user(runtime, stars=2)
    recorder = Recorder()
    monkeypatch.setattr(job_logs, "log", recorder)
    async with running(runtime):
        done = await submit(runtime, "t.steps", {"steps": ["a", "b"]}, user=user)
        flaky = await submit(runtime, "t.paid_flaky", {"fail_times": 1}, user=user)
        failed = await submit(runtime, "t.bad_input", {}, user=user)
        for job in (done, flaky):
            await wait_status(runtime, job.id, "succeeded")
        await wait_status(runtime, failed.id, "failed")
    succeeded = [line for line in recorder.lines if line["event"] == "job_succeeded"]
    lines = {line["job_id"]: line for line in succeeded}
    assert len(succeeded) == 2
    assert set(lines) == {str(done.id), str(flaky.id)}  # one each, none for the failed job
    steps = lines[str(done.id)]
    assert steps["kind"] == "t.steps"
    assert steps["attempts"] == 1
    assert (steps["input_tokens"], steps["output_tokens"]) == (3, 5)
    assert steps["cost_usd"] == 0.0
    assert isinstance(steps["duration_ms"], int)
    assert lines[str(flaky.id)]["attempts"] == 2
    assert lines[str(flaky.id)]["credits"] == 1
