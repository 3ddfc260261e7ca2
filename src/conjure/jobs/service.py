"""Submit, read and cancel jobs; operator reads (lists, stats). DLQ re-drive and purge: ``jobs/dlq.py``.

Services take the caller's session and never commit. Dispatching to the broker
and publishing events happen after commit (:func:`conjure.db.after_commit`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import structlog
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers, make_transient_to_detached

from conjure.db import after_commit, utcnow
from conjure.errors import Conflict, ConjureError, NotFound
from conjure.events.service import job_outcome_event, publish_many_after_commit
from conjure.jobs.coalesce import dispatch_soon, view_soon
from conjure.jobs.events import event_message
from conjure.jobs.hooks import failure_events
from conjure.jobs.lanes import Lane, Priority
from conjure.jobs.models import (
    EVENTS,
    JOB_COLUMNS,
    JOBS,
    TERMINAL_STATUSES,
    Job,
    JobEvent,
    JobSnapshot,
    JobStatus,
)
from conjure.jobs.store.pick import store_for
from conjure.jobs.webhooks import schedule_webhook_after_commit, validate_webhook_url
from conjure.observability.metrics import JOBS_FINISHED, JOBS_SUBMITTED
from conjure.observability.tracing import current_traceparent
from conjure.wallet.service import InsufficientStars, capture_hold, release_hold

if TYPE_CHECKING:
    from conjure.events.types import NewEvent
    from conjure.jobs.registry import JobKind
    from conjure.runtime import Runtime
    from conjure.users.models import User

log = structlog.get_logger("conjure.jobs.service")
__all__ = [
    "EVENTS",
    "JOBS",
    "JobSnapshot",
    "event_message",
    "job_view_for_user",
    "submit_job",
    "submit_job_now",
]
MAX_IDEMPOTENCY_KEY = 255


class UnknownJobKind(ConjureError):
    code, status = "unknown_job_kind", 422


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class JobNotCancelable(Conflict):
    code = "job_not_cancelable"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def request_hash(kind: str, payload: dict[str, Any], webhook_url: str | None) -> str:
    """What "the same request" means for an Idempotency-Key."""
    return hashlib.sha256(_canonical([kind, payload, webhook_url]).encode()).hexdigest()


def dedupe_key(secret: str, user_id: uuid.UUID | None, kind: str, payload: dict[str, Any]) -> str:
    """Seed 000's dedupe key: HMAC(user + payload); unique while the job is in flight."""
    message = f"{user_id or 'system'}:{kind}:{_canonical(payload)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def record_event(
    session: AsyncSession, runtime: Runtime, job_id: uuid.UUID, seq: int, type_: str, data: dict[str, Any]
) -> None:
    """Store an event in this transaction and publish it once committed."""
    await session.execute(
        insert(EVENTS).values(job_id=job_id, seq=seq, type=type_, data=data, created_at=utcnow())
    )
    message = event_message(job_id, seq, type_, data)

    async def publish() -> None:
        await runtime.broker.events.publish(job_id, message)

    after_commit(session, publish)


async def settle_hold(session: AsyncSession, *, job_id: uuid.UUID, price_stars: int, success: bool) -> None:
    """Capture the job's hold on success, release it otherwise (no-op for free kinds)."""
    if price_stars <= 0:
        return
    if success:
        await capture_hold(session, job_id=job_id)
    else:
        await release_hold(session, job_id=job_id)


async def _existing(
    session: AsyncSession, user_id: uuid.UUID | None, idempotency_key: str | None, key: str
) -> Job | None:
    clause = Job.dedupe_key == key
    if idempotency_key is not None:
        clause = clause | ((Job.user_id == user_id) & (Job.idempotency_key == idempotency_key))
    rows = (await session.execute(select(Job).where(clause))).scalars().all()
    # An Idempotency-Key match wins over an in-flight duplicate.
    rows = sorted(rows, key=lambda job: job.idempotency_key != idempotency_key or idempotency_key is None)
    return rows[0] if rows else None


def _check_replay(job: Job, idempotency_key: str | None, hash_: str) -> Job:
    if idempotency_key is not None and job.idempotency_key == idempotency_key and job.request_hash != hash_:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
    return job


def _validated_kind(runtime: Runtime, kind: str, idempotency_key: str | None) -> JobKind:
    job_kind = runtime.registry.kinds.get(kind)
    if job_kind is None:
        raise UnknownJobKind(f"Unknown job kind {kind!r}.")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise ConjureError("Idempotency-Key must be 1-255 characters.", code="validation_error", status=422)
    return job_kind


def _check_webhook(runtime: Runtime, webhook_url: str | None) -> None:
    """Refuse a completion webhook that is unsigned-able or points inside the network (SSRF guard)."""
    if webhook_url is None:
        return
    validate_webhook_url(
        webhook_url,
        allow_private=runtime.settings.job_webhook_allow_private,
        signing_configured=runtime.settings.job_webhook_secret is not None,
    )


def new_job_values(
    runtime: Runtime,
    job_kind: JobKind,
    *,
    user_id: uuid.UUID | None,
    payload: dict[str, Any],
    idempotency_key: str | None,
    trace_id: str | None,
    prompt_version: str | None,
    webhook_url: str | None = None,
    start_deadline: dt.datetime | None = None,
    priority: int = Priority.NORMAL,
    lane: str | None = None,
) -> dict[str, Any]:
    """Every column of a new queued job, as the job store inserts it."""
    settings = runtime.settings
    now = utcnow()
    values: dict[str, Any] = dict.fromkeys(JOB_COLUMNS)
    if prompt_version is None and job_kind.prompt_version:
        prompt_version = job_kind.prompt_version()
    values.update(
        id=uuid.uuid4(),
        user_id=user_id,
        kind=job_kind.name,
        status=JobStatus.QUEUED,
        payload=payload,
        dedupe_key=dedupe_key(settings.signing_secret, user_id, job_kind.name, payload),
        idempotency_key=idempotency_key,
        request_hash=request_hash(job_kind.name, payload, webhook_url),
        attempts=0,
        max_attempts=job_kind.max_attempts or settings.job_max_attempts,
        price_stars=job_kind.price_for(settings),
        prompt_version=prompt_version,
        schema_version="1",
        trace_id=trace_id or uuid.uuid4().hex,
        trace_context=current_traceparent(),
        webhook_url=webhook_url,
        start_deadline=start_deadline,
        run_at=now,
        cancel_requested=False,
        event_seq=1,
        parks=0,
        free_delays=0,
        priority=int(priority),  # stored, so a re-dispatch keeps the job's class and lane
        lane=lane,
        created_at=now,
        updated_at=now,
    )
    return values


async def _find_duplicate(
    session: AsyncSession, values: dict[str, Any], *, required: bool = True
) -> Job | None:
    """The job that won over ``values`` (same dedupe key or Idempotency-Key); 409 on a reused key."""
    found = await _existing(session, values["user_id"], values["idempotency_key"], values["dedupe_key"])
    if found is None:
        if required:
            raise Conflict("A conflicting job was submitted at the same time; try again.")
        return None
    return _check_replay(found, values["idempotency_key"], values["request_hash"])


def accepted_job(values: dict[str, Any]) -> Job:
    """The job just written with ``values`` (not in any session), for the caller to read.

    Filled in as the ORM fills a row it loads, not through ``Job(**values)``: the constructor's
    per-attribute events cost 48 µs against 3 µs, about 7 % of a submit's API CPU (docs/bench.md).
    """
    if not Job.__mapper__.configured:  # done by the first query; checking is cheaper than calling
        configure_mappers()
    job: Job = Job.__mapper__.class_manager.new_instance()
    job.__dict__.update(values)
    return job


def dispatch_lane(user_id: uuid.UUID | None, lane: str | None, priority: int) -> Lane | None:
    """The lane a new job is fair-queued in: its payer (``lane``, else its user) and its class;
    None for a system job (straight to the ready queue)."""
    payer = lane if lane is not None else (str(user_id) if user_id is not None else None)
    return None if payer is None else Lane(payer, priority)


def _dispatch_after_commit(
    session: AsyncSession, runtime: Runtime, job_id: uuid.UUID, lane: Lane | None
) -> None:
    async def dispatch() -> None:
        await runtime.broker.dispatch([job_id], [lane])

    after_commit(session, dispatch)


async def submit_job(
    session: AsyncSession,
    runtime: Runtime,
    *,
    user_id: uuid.UUID | None,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str | None = None,
    webhook_url: str | None = None,
    start_deadline: dt.datetime | None = None,
    trace_id: str | None = None,
    prompt_version: str | None = None,
    priority: int = Priority.NORMAL,
    lane: str | None = None,
    parent_job_id: uuid.UUID | None = None,
) -> Job:
    """Accept a job in the caller's transaction: dedupe, insert, hold its price, dispatch once committed
    (fair-queued as ``lane``, by default its user, in class ``priority``: :mod:`conjure.jobs.lanes`).

    ``parent_job_id``: the job that started this one (its child: listed under it, canceled with it
    while queued).
    """
    job_kind = _validated_kind(runtime, kind, idempotency_key)
    _check_webhook(runtime, webhook_url)
    values = new_job_values(
        runtime,
        job_kind,
        user_id=user_id,
        payload=payload,
        idempotency_key=idempotency_key,
        webhook_url=webhook_url,
        start_deadline=start_deadline,
        trace_id=trace_id,
        prompt_version=prompt_version,
        priority=priority,
        lane=lane,
    )
    values["parent_job_id"] = parent_job_id
    if idempotency_key is not None and (found := await _find_duplicate(session, values, required=False)):
        return found
    if values["price_stars"] > 0 and user_id is None:
        raise ConjureError("A priced job needs a user to pay for it.", code="bad_request")
    if not await store_for(runtime.db).insert_queued_in(session, values):
        # A concurrent duplicate (same dedupe key or Idempotency-Key) won: return it.
        return cast(Job, await _find_duplicate(session, values))
    job = Job(**values)
    # The row is written; attach the fully loaded object without a second INSERT or a reload.
    make_transient_to_detached(job)
    session.add(job)
    if job_kind.on_submit is not None:
        await job_kind.on_submit(session, runtime.settings, job)
    JOBS_SUBMITTED.labels(kind).inc()
    _dispatch_after_commit(session, runtime, job.id, dispatch_lane(user_id, lane, priority))
    return job


async def submit_job_now(
    runtime: Runtime,
    *,
    user_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str | None = None,
    webhook_url: str | None = None,
    start_deadline: dt.datetime | None = None,
    trace_id: str | None = None,
    prompt_version: str | None = None,
    priority: int = Priority.NORMAL,
    lane: str | None = None,
) -> Job:
    """Accept a user's job in a transaction of its own, committed and dispatched on return.

    The route-facing submit: the job store's ``insert_queued`` (on PostgreSQL one statement does
    what :func:`submit_job` does in ten round trips), then the broker. 402 when too few stars,
    409 on an Idempotency-Key reused with another request; a duplicate gets the first job back.
    """
    job_kind = _validated_kind(runtime, kind, idempotency_key)
    if job_kind.on_submit is not None:
        # Its app adds rows with the job (or refuses it): the submit needs a transaction of its own.
        async with runtime.db.session() as session:
            return await submit_job(
                session,
                runtime,
                user_id=user_id,
                kind=kind,
                payload=payload,
                idempotency_key=idempotency_key,
                webhook_url=webhook_url,
                start_deadline=start_deadline,
                trace_id=trace_id,
                prompt_version=prompt_version,
                priority=priority,
                lane=lane,
            )
    _check_webhook(runtime, webhook_url)
    values = new_job_values(
        runtime,
        job_kind,
        user_id=user_id,
        payload=payload,
        idempotency_key=idempotency_key,
        webhook_url=webhook_url,
        start_deadline=start_deadline,
        trace_id=trace_id,
        prompt_version=prompt_version,
        priority=priority,
        lane=lane,
    )
    submitted = await store_for(runtime.db).insert_queued(values)
    if submitted.inserted:
        JOBS_SUBMITTED.labels(kind).inc()
        try:
            # Shares one broker call with the submits that committed in the same loop turn.
            await dispatch_soon(runtime.broker, values["id"], dispatch_lane(user_id, lane, priority))
        except Exception:
            # Committed is accepted: the reconciler dispatches queued jobs that were never
            # delivered, exactly as when an after-commit dispatch fails in submit_job.
            log.exception("dispatch_failed", job_id=str(values["id"]))
        return accepted_job(values)
    available = submitted.available
    if available is None:
        raise NotFound("No such user.")
    async with runtime.db.session() as session:
        # Not inserted: a duplicate won (returned as submit_job would), or too few stars.
        found = await _find_duplicate(session, values, required=available >= values["price_stars"])
    if found is not None:
        return found
    raise InsufficientStars.for_hold(values["price_stars"], available)


async def get_job_for_user(session: AsyncSession, job_id: uuid.UUID, user: User) -> Job:
    """The caller's job; another user's job is "not found", not "forbidden"."""
    job = await session.get(Job, job_id)
    if job is None or job.user_id != user.id:
        raise NotFound("No such job.")
    return job


async def job_view_for_user(runtime: Runtime, job_id: uuid.UUID, user_id: uuid.UUID) -> JobSnapshot:
    """The caller's job, for reading only (one statement, shared by the reads of one loop turn:
    :func:`conjure.jobs.coalesce.view_soon`); 404 if not theirs."""
    job = await view_soon(runtime.db, job_id, user_id)
    if job is None:
        raise NotFound("No such job.")
    return job


async def queue_position(session: AsyncSession, job: Job) -> int | None:
    """Approximate 1-based position among queued jobs (by due time)."""
    if job.status != JobStatus.QUEUED:
        return None
    ahead = await session.scalar(
        select(func.count()).where(Job.status == JobStatus.QUEUED, Job.run_at < job.run_at)
    )
    return int(ahead or 0) + 1


async def end_queued_job(
    session: AsyncSession, runtime: Runtime, job: Job, *, status: JobStatus, code: str, message: str
) -> bool:
    """Move a job no worker holds (queued, or waiting on a callback: ``jobs/parking.py``) to a
    terminal status (cancel, deadline, callback timeout); False if a worker took it first."""
    now = utcnow()
    row = (
        await session.execute(
            update(JOBS)
            .where(JOBS.c.id == job.id, JOBS.c.status.in_((JobStatus.QUEUED, JobStatus.WAITING)))
            .values(
                status=status,
                error_code=code,
                last_error=message,
                dedupe_key=None,
                finished_at=now,
                updated_at=now,
                event_seq=JOBS.c.event_seq + 1,
            )
            .returning(JOBS.c.event_seq)
        )
    ).first()
    if row is None:
        return False
    await settle_hold(session, job_id=job.id, price_stars=job.price_stars, success=False)
    await record_event(session, runtime, job.id, row[0], status, {"status": status, "code": code})
    JOBS_FINISHED.labels(job.kind, status).inc()
    job_id = job.id

    async def forget() -> None:
        await runtime.broker.forget_delayed(job_id)

    after_commit(session, forget)
    schedule_webhook_after_commit(session, runtime, job.id, job.webhook_url)
    events: list[NewEvent] = []
    outcome = job_outcome_event(user_id=job.user_id, job_id=job.id, kind=job.kind, status=status, code=code)
    if outcome is not None:  # job.canceled to the owner's event stream, once this commits
        events.append(outcome)
    kind = runtime.registry.kinds.get(job.kind)
    events += await failure_events(session, kind, job.id, status=status, code=code, message=message)
    if events:
        publish_many_after_commit(session, runtime.user_events, events)
    return True


async def children_of(session: AsyncSession, job_id: uuid.UUID) -> Sequence[Job]:
    """The jobs ``job_id`` started (``parent_job_id``), oldest first."""
    rows = await session.scalars(select(Job).where(Job.parent_job_id == job_id).order_by(Job.created_at))
    return rows.all()


async def cancel_children(session: AsyncSession, runtime: Runtime, job_id: uuid.UUID) -> int:
    """Cancel the job's descendants that no worker holds (queued, or waiting on a callback: their
    holds released) and ask its running ones to stop between their steps, as a cancel asks any
    running job; how many. Generation by generation: a running child's own children go too."""
    done = 0
    parents, seen = [job_id], {job_id}
    while parents:
        children = (
            await session.scalars(select(Job).where(Job.parent_job_id.in_(parents)).order_by(Job.created_at))
        ).all()
        for child in children:
            if child.status in (JobStatus.QUEUED, JobStatus.WAITING) and await end_queued_job(
                session,
                runtime,
                child,
                status=JobStatus.CANCELED,
                code="parent_canceled",
                message="Its parent was canceled.",
            ):
                done += 1
        running = await session.execute(
            update(JOBS)
            .where(JOBS.c.parent_job_id.in_(parents), JOBS.c.status == JobStatus.PROCESSING)
            .values(cancel_requested=True)
            .returning(JOBS.c.id)
        )
        done += len(running.all())
        parents = [child.id for child in children if child.id not in seen]
        seen.update(parents)
    return done


async def cancel_job(session: AsyncSession, runtime: Runtime, job_id: uuid.UUID, user: User) -> Job:
    """Cancel the caller's own job (404 for anyone else's)."""
    job = await get_job_for_user(session, job_id, user)
    return await cancel(session, runtime, job, message="Canceled by the user.")


async def cancel(session: AsyncSession, runtime: Runtime, job: Job, *, message: str) -> Job:
    """Cancel at once when queued or waiting on a callback; ask a running job to stop between its
    steps. Either way its children are canceled with it (:func:`cancel_children`)."""
    await cancel_children(session, runtime, job.id)
    if job.status in (JobStatus.QUEUED, JobStatus.WAITING) and await end_queued_job(
        session, runtime, job, status=JobStatus.CANCELED, code="canceled", message=message
    ):
        await session.refresh(job)
        return job
    requested = await session.execute(
        update(JOBS)
        .where(JOBS.c.id == job.id, JOBS.c.status == JobStatus.PROCESSING)
        .values(cancel_requested=True)
        .returning(JOBS.c.id)
    )
    if requested.first() is None:
        await session.refresh(job)
        raise JobNotCancelable(f"The job is already {job.status}.")
    await session.refresh(job)
    return job


async def events_after(session: AsyncSession, job_id: uuid.UUID, seq: int) -> list[dict[str, Any]]:
    """Stored events with a sequence number above ``seq`` (SSE replay)."""
    rows = await session.execute(
        select(JobEvent.seq, JobEvent.type, JobEvent.data)
        .where(JobEvent.job_id == job_id, JobEvent.seq > seq)
        .order_by(JobEvent.seq)
    )
    return [event_message(job_id, s, t, d or {}) for s, t, d in rows.all()]


async def list_jobs(
    session: AsyncSession, *, status: JobStatus | None = None, limit: int = 100
) -> Sequence[Job]:
    """Most recent jobs first, optionally of one status."""
    query = select(Job).order_by(Job.updated_at.desc()).limit(limit)
    if status is not None:
        query = query.where(Job.status == status)
    return (await session.execute(query)).scalars().all()


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
    counts = {status.value: 0 for status in JobStatus}
    counts.update({status: int(count) for status, count in rows.all()})
    return counts


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES
