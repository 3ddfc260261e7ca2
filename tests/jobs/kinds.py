"""Job kinds the engine tests run (the engine knows nothing about real apps)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

from conjure.apps import AppSpec
from conjure.db import utcnow
from conjure.events.types import NewEvent
from conjure.jobs.registry import (
    JobContext,
    JobDeferred,
    JobEnd,
    JobKind,
    PermanentJobError,
    RetryableJobError,
)
from conjure.settings import AppSettings, Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from conjure.jobs.models import Job

CALLS: dict[str, int] = {}  # handler invocations in this process, by job id


def _count(ctx: JobContext) -> None:
    CALLS[str(ctx.job_id)] = CALLS.get(str(ctx.job_id), 0) + 1


async def noop(ctx: JobContext) -> dict[str, Any]:
    _count(ctx)
    return {"ok": True, "n": ctx.payload.get("n")}


async def flaky(ctx: JobContext) -> dict[str, Any]:
    """Fails (retryably) on the first ``fail_times`` attempts."""
    _count(ctx)
    if ctx.attempt <= int(ctx.payload.get("fail_times", 4)):
        raise RetryableJobError("upstream_503", f"attempt {ctx.attempt} hit a 503")
    return {"attempt": ctx.attempt}


async def always_fails(ctx: JobContext) -> dict[str, Any]:
    _count(ctx)
    raise RetryableJobError("upstream_timeout", str(ctx.payload.get("message", "the model timed out")))


async def bad_input(ctx: JobContext) -> dict[str, Any]:
    _count(ctx)
    raise PermanentJobError("content_policy", "The question breaks the content policy.")


async def steps(ctx: JobContext) -> dict[str, Any]:
    """Reports steps, sleeping ``seconds`` per step (cancel and progress checks happen here)."""
    _count(ctx)
    for name in ctx.payload.get("steps", ["analyzing", "drawing", "reading"]):
        await ctx.progress(name, message=f"{name}…")
        await asyncio.sleep(float(ctx.payload.get("seconds", 0)))
    ctx.record_usage(provider="offline", step="reading", input_tokens=3, output_tokens=5)
    return {"done": True}


async def sleepy(ctx: JobContext) -> dict[str, Any]:
    """Sleeps without progress calls (kill -9 target; heartbeats keep its lease)."""
    _count(ctx)
    await asyncio.sleep(float(ctx.payload.get("seconds", 1.0)))
    return {"slept": ctx.payload.get("seconds")}


async def rate_limited(ctx: JobContext) -> dict[str, Any]:
    """A provider answered 429 with ``Retry-After: <payload's retry_after>``."""
    _count(ctx)
    raise RetryableJobError("provider_unavailable", "Rate limited.", retry_after=ctx.payload["retry_after"])


async def metered_flaky(ctx: JobContext) -> dict[str, Any]:
    """Calls a model on every attempt (attempt n: 10n input tokens, n output, $0.001n; the first
    one also calls a second provider), then fails retryably on the first ``fail_times``."""
    _count(ctx)
    n = ctx.attempt
    ctx.record_usage(provider="offline", step="read", input_tokens=10 * n, output_tokens=n, cost_usd=n / 1000)
    if n == 1:
        ctx.record_usage(provider="backup", step="read", input_tokens=7, output_tokens=0, cost_usd=0.01)
    if n <= int(ctx.payload.get("fail_times", 1)):
        raise RetryableJobError("upstream_503", f"attempt {n} hit a 503")
    return {"attempt": n}


async def save_or_explode(session: AsyncSession, job: Job, result: dict[str, Any]) -> list[NewEvent]:
    """``on_success`` that fails for payloads asking it to (a result the app cannot store); the
    event it returns reaches the owner once the finishing transaction commits."""
    if job.payload.get("explode"):
        raise RuntimeError("the result table refused the row")
    job.prompt_version = "saved"
    type_ = "Saved!" if job.payload.get("bad_event") else "test.saved"  # a malformed type: a bug
    return [] if job.user_id is None else [NewEvent(job.user_id, type_, {"job_id": str(job.id)})]


async def parks(ctx: JobContext) -> dict[str, Any]:
    """Parks on its first run (after ``before_park`` seconds), and again on each poll wake-up when
    ``repark``; returns what it was resumed with."""
    _count(ctx)
    state = await ctx.saved_state()
    checkpoint = dict(state.checkpoint or {"runs": 0, "deadline": ctx.payload.get("deadline", 3600.0)})
    checkpoint["runs"] += 1
    if state.checkpoint is None:
        checkpoint["deadline_at"] = (utcnow() + dt.timedelta(seconds=checkpoint["deadline"])).isoformat()
        if before := float(ctx.payload.get("before_park", 0)):
            await ctx.progress("submitted")  # handed to the provider: its callback may come now
            await asyncio.sleep(before)
    if state.checkpoint is None or (state.resume_data is None and ctx.payload.get("repark")):
        await ctx.park(
            poll_after=float(ctx.payload.get("poll_after", 3600.0)),
            deadline=dt.datetime.fromisoformat(checkpoint["deadline_at"]),
            checkpoint=checkpoint,
        )
    return {"runs": checkpoint["runs"], "resumed_with": state.resume_data, "attempt": ctx.attempt}


async def deferred(ctx: JobContext) -> dict[str, Any]:
    """Not tried (an open circuit breaker) on its first ``defer_times`` runs, then succeeds."""
    _count(ctx)
    if CALLS[str(ctx.job_id)] <= int(ctx.payload.get("defer_times", 1000)):
        raise JobDeferred("circuit_open", "The provider keeps failing.", retry_after=0.05)
    return {"attempt": ctx.attempt}


async def note_failure(session: AsyncSession, job: Job, end: JobEnd) -> list[NewEvent]:
    """``on_failure``: what an app does with its own row when the job ends without success."""
    if job.user_id is None:
        return []
    return [NewEvent(job.user_id, "test.failed", {"status": end.status, "code": end.code})]


class TSettings(AppSettings):
    """The test app's own setting: ``t.slow_own``'s time limit (as imagegen's IMAGE_JOB_TIMEOUT_SECONDS)."""

    t_job_timeout_seconds: float = 30.0


def own_time_limit(settings: Settings) -> float:
    return settings.for_app(TSettings).t_job_timeout_seconds


KINDS = [
    JobKind(name="t.noop", handler=noop),
    JobKind(name="t.paid", handler=noop, price_stars=1),
    JobKind(name="t.paid_sleepy", handler=sleepy, price_stars=1),
    JobKind(name="t.flaky", handler=flaky),
    JobKind(name="t.always_fails", handler=always_fails),
    JobKind(name="t.paid_fails", handler=always_fails, price_stars=1, max_attempts=2),
    JobKind(name="t.paid_flaky", handler=flaky, price_stars=1, max_attempts=2),
    JobKind(name="t.paid_hooked", handler=noop, price_stars=1, max_attempts=1, on_success=save_or_explode),
    JobKind(name="t.bad_input", handler=bad_input, price_stars=1),
    JobKind(name="t.steps", handler=steps),
    JobKind(name="t.metered_flaky", handler=metered_flaky),
    JobKind(name="t.paid_metered_flaky", handler=metered_flaky, price_stars=1),
    JobKind(name="t.rate_limited", handler=rate_limited, max_attempts=3),
    JobKind(name="t.sleepy", handler=sleepy),
    JobKind(name="t.timeout", handler=sleepy, timeout_seconds=0.2, max_attempts=1),
    JobKind(name="t.slow", handler=sleepy, max_attempts=1),  # bounded by MAX_PROCESSING_TIME_MS
    JobKind(name="t.parks", handler=parks, price_stars=1, max_attempts=2, on_failure=note_failure),
    JobKind(name="t.deferred", handler=deferred, price_stars=1, max_attempts=1, on_failure=note_failure),
    JobKind(
        name="t.paid_fails_hooked",
        handler=always_fails,
        price_stars=1,
        max_attempts=1,
        on_failure=note_failure,
    ),
    JobKind(name="t.slow_own", handler=sleepy, max_attempts=1, timeout=own_time_limit),
    JobKind(
        name="t.own_backoff",
        handler=always_fails,
        max_attempts=3,
        retry_base_seconds=0.001,
        retry_cap_seconds=0.002,
    ),
]
APP = AppSpec(name="t", job_kinds=KINDS)
