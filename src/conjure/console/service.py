"""What the operator console reads and does: job search and detail, retry and cancel, paused kinds,
throughput over time, and a user found by email.

An operator sees a job's shape, not its content: free text in a payload (questions, prompts,
messages) is shown as its length only, so the console never puts a person's words on a screen.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Integer, String, cast, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.console.schemas import (
    ActionResult,
    AttemptView,
    ConsoleJob,
    ConsoleJobDetail,
    EventView,
    KindView,
    Throughput,
    ThroughputBucket,
    UserLookup,
)
from conjure.db import after_commit, utcnow
from conjure.errors import Conflict, NotFound
from conjure.jobs import dlq
from conjure.jobs.models import Job, JobAttempt, JobEvent, JobStatus, PausedKind
from conjure.jobs.service import cancel, is_terminal
from conjure.kit.paging import Page, PageParams
from conjure.users.models import User

if TYPE_CHECKING:
    from conjure.runtime import Runtime

# Payload fields that hold a person's words, shown as a length only; any longer string is too.
FREE_TEXT_FIELDS = frozenset(
    {
        "question",
        "prompt",
        "content",
        "text",
        "message",
        "messages",
        "notes",
        "email",
        "phone",
        "name",
        "address",
    }
)
SHORT_VALUE = 40


@dataclass(frozen=True)
class JobFilter:
    """The console's search: any combination narrows the list."""

    status: JobStatus | None = None
    kind: str | None = None
    email: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    job_id: str | None = None  # a full id, or the first characters of one


def _row(job: Job, email: str | None) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "user_id": job.user_id,
        "email": email,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "price_stars": job.price_stars,
        "error_code": job.error_code,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def _conditions(flt: JobFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.status is not None:
        where.append(Job.status == flt.status)
    if flt.kind:
        where.append(Job.kind == flt.kind)
    if flt.email:
        where.append(func.lower(User.email) == flt.email.strip().lower())
    if flt.since is not None:
        where.append(Job.created_at >= flt.since)
    if flt.until is not None:
        where.append(Job.created_at < flt.until)
    if flt.job_id:
        prefix = flt.job_id.strip().lower()
        try:
            where.append(Job.id == uuid.UUID(prefix))
        except ValueError:
            # A prefix: compared on the id's text (the console shows the first 8 characters).
            where.append(func.lower(cast(Job.id, String(36))).like(f"{prefix.replace('-', '')}%"))
    return where


async def search_jobs(session: AsyncSession, flt: JobFilter, page: PageParams) -> Page[ConsoleJob]:
    """Jobs matching the filter, newest first, with their owner's email."""
    where = _conditions(flt)
    base = select(Job, User.email).outerjoin(User, User.id == Job.user_id).where(*where)
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    rows = await session.execute(base.order_by(Job.created_at.desc()).limit(page.limit).offset(page.offset))
    items = [ConsoleJob(**_row(job, email)) for job, email in rows.all()]
    return Page(items=items, total=int(total or 0), limit=page.limit, offset=page.offset)


def redact(value: Any, key: str = "") -> Any:
    """A payload as an operator may see it: structure and short values; free text as its length."""
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value[:20]]
    if isinstance(value, str) and (key.lower() in FREE_TEXT_FIELDS or len(value) > SHORT_VALUE):
        return f"[{len(value)} characters]"
    return value


def _actions(job: Job) -> list[str]:
    actions = []
    if job.status in dlq.RETRYABLE:
        actions.append("retry")
    if job.status in (JobStatus.QUEUED, JobStatus.WAITING, JobStatus.PROCESSING) and not job.cancel_requested:
        actions.append("cancel")
    return actions


async def job_detail(session: AsyncSession, job_id: uuid.UUID) -> ConsoleJobDetail:
    row = (
        await session.execute(
            select(Job, User.email).outerjoin(User, User.id == Job.user_id).where(Job.id == job_id)
        )
    ).first()
    if row is None:
        raise NotFound("No such job.")
    job, email = row
    attempts = (
        await session.execute(
            select(JobAttempt).where(JobAttempt.job_id == job_id).order_by(JobAttempt.attempt_number)
        )
    ).scalars()
    events = (
        await session.execute(select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.seq))
    ).scalars()
    return ConsoleJobDetail(
        **_row(job, email),
        payload=redact(job.payload or {}),
        result_keys=sorted((job.result or {}).keys()),
        last_error=job.last_error,
        usage=job.usage,
        trace_id=job.trace_id,
        worker_id=job.worker_id,
        cancel_requested=job.cancel_requested,
        attempts_list=[
            AttemptView(
                number=a.attempt_number,
                worker_id=a.worker_id,
                started_at=a.started_at,
                finished_at=a.finished_at,
                success=a.success,
                error_code=a.error_code,
                error=a.error,
                duration_ms=a.processing_time_ms,
                usage=a.usage,
            )
            for a in attempts
        ],
        events=[
            EventView(seq=e.seq, type=e.type, data=redact(e.data or {}), created_at=e.created_at)
            for e in events
        ],
        actions=_actions(job),
    )


async def retry_job(
    session: AsyncSession, runtime: Runtime, job_id: uuid.UUID, *, free: bool
) -> ActionResult:
    """Run a DLQ, failed or canceled job again (its price held again unless ``free``)."""
    job = await session.get(Job, job_id)
    if job is None:
        raise NotFound("No such job.")
    if job.status not in dlq.RETRYABLE:
        raise Conflict(f"A {job.status} job cannot be retried.", code="job_not_retryable")
    done = await dlq.redrive(session, runtime, [job_id], free=free, statuses=dlq.RETRYABLE)
    if job_id in done.short_of_stars:
        raise Conflict(
            "The owner lacks the stars to hold this job's price; retry it free.", code="insufficient_stars"
        )
    return ActionResult(id=job_id, status=JobStatus.QUEUED, detail="free" if free else "held")


async def cancel_any_job(session: AsyncSession, runtime: Runtime, job_id: uuid.UUID) -> ActionResult:
    job = await session.get(Job, job_id)
    if job is None:
        raise NotFound("No such job.")
    if is_terminal(job.status):
        raise Conflict(f"The job is already {job.status}.", code="job_not_cancelable")
    job = await cancel(session, runtime, job, message="Canceled by an operator.")
    detail = "canceled" if job.status == JobStatus.CANCELED else "cancel requested"
    return ActionResult(id=job_id, status=job.status, detail=detail)


async def paused_kinds(session: AsyncSession) -> set[str]:
    return set((await session.execute(select(PausedKind.kind))).scalars())


async def kinds_overview(session: AsyncSession, runtime: Runtime) -> list[KindView]:
    counts: dict[str, dict[str, int]] = {}
    for kind, status, n in (
        await session.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status))
    ).all():
        counts.setdefault(kind, {})[status] = int(n)
    paused = {p.kind: p for p in (await session.execute(select(PausedKind))).scalars()}
    names = sorted(set(runtime.registry.kinds) | set(counts))
    return [
        KindView(
            kind=name,
            price_stars=runtime.registry.kinds[name].price_stars if name in runtime.registry.kinds else 0,
            paused=name in paused,
            paused_at=paused[name].paused_at if name in paused else None,
            by_status=counts.get(name, {}),
        )
        for name in names
    ]


async def set_paused(
    session: AsyncSession, runtime: Runtime, kind: str, *, paused: bool, by: uuid.UUID
) -> None:
    """Pause a kind (claims skip its jobs, the reconciler leaves them be) or resume it: its queued
    jobs are dispatched again once this commits."""
    if kind not in runtime.registry.kinds:
        raise NotFound("No such job kind.")
    if paused:
        if await session.get(PausedKind, kind) is None:
            session.add(PausedKind(kind=kind, paused_by=by))
            await session.flush()
        return
    removed = await session.execute(
        delete(PausedKind).where(PausedKind.kind == kind).returning(PausedKind.kind)
    )
    if removed.first() is None:
        return
    waiting = await session.execute(select(Job.id).where(Job.kind == kind, Job.status == JobStatus.QUEUED))
    ids = list(waiting.scalars())

    async def dispatch() -> None:
        for start in range(0, len(ids), 500):
            await runtime.broker.dispatch(ids[start : start + 500])

    if ids:
        after_commit(session, dispatch)


def _bucket(column: Any, seconds: int, dialect: str) -> Any:
    """The start of ``column``'s bucket, as whole seconds since the epoch (each backend's own way)."""
    if dialect == "sqlite":
        epoch = cast(func.strftime("%s", column), Integer)
    else:
        epoch = cast(func.floor(func.extract("epoch", column)), Integer)
    return (epoch // seconds) * seconds


async def _counts(
    session: AsyncSession, column: Any, since: dt.datetime, seconds: int, *extra: Any
) -> dict[int, int]:
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    bucket = _bucket(column, seconds, dialect).label("b")
    rows = await session.execute(select(bucket, func.count()).where(column >= since, *extra).group_by(bucket))
    return {int(b): int(n) for b, n in rows.all() if b is not None}


async def throughput(session: AsyncSession, minutes: int) -> Throughput:
    """Submitted, started and finished jobs per bucket over the last ``minutes`` (about 60 buckets),
    and the queue's depth at each bucket's end, walked back from the depth now."""
    seconds = max(60, minutes)  # minutes*60/60 buckets
    now = utcnow()
    first = (int(now.timestamp()) // seconds - (minutes * 60) // seconds + 1) * seconds
    since = dt.datetime.fromtimestamp(first, dt.UTC)
    submitted = await _counts(session, Job.created_at, since, seconds)
    started = await _counts(session, Job.started_at, since, seconds)
    succeeded = await _counts(session, Job.finished_at, since, seconds, Job.status == JobStatus.SUCCEEDED)
    failed = await _counts(
        session,
        Job.finished_at,
        since,
        seconds,
        Job.status.in_([JobStatus.FAILED, JobStatus.DLQ, JobStatus.CANCELED]),
    )
    depth = int(await session.scalar(select(func.count()).where(Job.status == JobStatus.QUEUED)) or 0)
    starts = list(range(first, int(now.timestamp()) + 1, seconds))
    buckets: list[ThroughputBucket] = []
    for start in reversed(starts):
        buckets.append(
            ThroughputBucket(
                start=dt.datetime.fromtimestamp(start, dt.UTC),
                submitted=submitted.get(start, 0),
                started=started.get(start, 0),
                succeeded=succeeded.get(start, 0),
                failed=failed.get(start, 0),
                queued_estimate=max(depth, 0),
            )
        )
        depth += started.get(start, 0) - submitted.get(start, 0)
    return Throughput(minutes=minutes, bucket_seconds=seconds, buckets=list(reversed(buckets)))


async def lookup_user(session: AsyncSession, email: str) -> UserLookup:
    user = await session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise NotFound("No account has that email.")
    jobs: Sequence[Job] = (
        (
            await session.execute(
                select(Job).where(Job.user_id == user.id).order_by(Job.created_at.desc()).limit(20)
            )
        )
        .scalars()
        .all()
    )
    return UserLookup(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        tier=user.tier,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        star_balance=user.star_balance,
        coin_balance=user.coin_balance,
        stars_held=user.stars_held,
        jobs=[ConsoleJob(**_row(job, user.email)) for job in jobs],
    )
