"""What every app's submit and poll routes share: the request options, submit, "my job, else 404".

A submit route takes its body (a :class:`JobRequest`, so it carries the optional completion
``webhook``) and :data:`JobOptions` (the ``Idempotency-Key`` and ``Cancel-After`` headers and
the request id), then calls :func:`submit`::

    @router.post("/thing", status_code=202, responses=SUBMIT_PROBLEMS)
    async def make(body: ThingRequest, options: JobOptions, principal: CurrentPrincipal, runtime: RuntimeDep):
        job = await submit(runtime, options, user_id=principal.user_id, kind=KIND,
                           payload={...}, webhook_url=body.webhook)

An app whose own row must commit together with its job (so a worker never runs a job whose
row is not there yet) calls :func:`submit_in` with the route's session instead.

``Cancel-After`` is a start deadline, as on Replicate: a job no worker has started within
that time ends ``canceled`` with code ``deadline`` and its hold is released.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy import select

from conjure.billing.plans import PlanCache, queue_class
from conjure.db import utcnow
from conjure.errors import NotFound
from conjure.jobs.lanes import Priority
from conjure.jobs.models import Job
from conjure.jobs.service import job_view_for_user, submit_job, submit_job_now
from conjure.ratelimit.deps import LimitDependency, limit_new_requests

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from conjure.jobs.models import JobSnapshot
    from conjure.runtime import Runtime

MIN_CANCEL_AFTER = dt.timedelta(seconds=1)
MAX_CANCEL_AFTER = dt.timedelta(hours=24)
# "90" (seconds), "30s", "5m", "1h30m", "1h2m3s"; digit counts bounded so nothing overflows.
_DURATION = re.compile(r"(?:(?P<h>\d{1,4})h)?(?:(?P<m>\d{1,6})m)?(?:(?P<s>\d{1,8})s)?")
# The same forms as the OpenAPI pattern (ECMA and Rust syntax: no flags, no lookaround), so a
# value the schema allows is one ``parse_cancel_after`` reads; only the 1 s - 24 h range is
# left to it (a runtime 422, stated in the description).
CANCEL_AFTER_PATTERN = (
    r"^[ \t]*(?:[0-9]{1,8}|[0-9]{1,4}[hH](?:[0-9]{1,6}[mM])?(?:[0-9]{1,8}[sS])?"
    r"|[0-9]{1,6}[mM](?:[0-9]{1,8}[sS])?|[0-9]{1,8}[sS])[ \t]*$"
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retry-safe submit: the same key and body return the same job (another body: 409).",
    ),
]
CancelAfterHeader = Annotated[
    str | None,
    Header(
        alias="Cancel-After",
        max_length=32,
        pattern=CANCEL_AFTER_PATTERN,
        description="Start deadline: a job not started within this (`30s`, `5m`, `1h30m`, or seconds; "
        "1 s to 24 h) ends `canceled` with code `deadline`, its star released. A value of the right "
        "form outside 1 s - 24 h answers 422 `validation_error`.",
    ),
]


class JobRequest(BaseModel):
    """The body fields every submit route accepts besides its own."""

    webhook: str | None = Field(
        default=None,
        max_length=2000,
        description="An http(s) URL that gets a signed POST (header `Conjure-Signature`) when the job "
        "ends; public hosts only.",
    )


@dataclass(frozen=True)
class SubmitOptions:
    """The header options of one submit request."""

    idempotency_key: str | None = None
    start_deadline: dt.datetime | None = None
    trace_id: str | None = None
    # Fair dispatch (conjure.jobs.lanes): the job's class, and who it is fair-queued as when not
    # its user (an ops station, an API key). A route may set them with ``dataclasses.replace``;
    # without a class the user's plan decides it (its ``queue_lane``: conjure.billing.plans).
    priority: int | None = None
    lane: str | None = None

    def engine_args(self) -> dict[str, Any]:
        """These options as the job engine's submit functions name them."""
        return {
            "idempotency_key": self.idempotency_key,
            "start_deadline": self.start_deadline,
            "trace_id": self.trace_id,
            "priority": Priority.NORMAL if self.priority is None else self.priority,
            "lane": self.lane,
        }


def parse_cancel_after(value: str) -> dt.timedelta:
    """``Cancel-After`` as a duration; ``ValueError`` if malformed or outside 1 s - 24 h."""
    text = value.strip().lower()
    if text.isdigit() and len(text) <= 8:
        duration = dt.timedelta(seconds=int(text))
    else:
        match = _DURATION.fullmatch(text)
        if not text or match is None:
            raise ValueError("use a duration such as 30s, 5m, 1h30m, or a number of seconds")
        parts = {name: int(group or 0) for name, group in match.groupdict().items()}
        duration = dt.timedelta(hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    if not MIN_CANCEL_AFTER <= duration <= MAX_CANCEL_AFTER:
        raise ValueError("must be between 1 second and 24 hours")
    return duration


async def submit_options(
    request: Request, idempotency_key: IdempotencyKey = None, cancel_after: CancelAfterHeader = None
) -> SubmitOptions:
    """The submit options of this request (422 ``validation_error`` for a bad ``Cancel-After``)."""
    deadline = None
    if cancel_after is not None:
        try:
            deadline = utcnow() + parse_cancel_after(cancel_after)
        except ValueError as exc:
            error = {"type": "value_error", "loc": ("header", "Cancel-After"), "msg": str(exc)}
            raise RequestValidationError([{**error, "input": cancel_after}]) from None
    return SubmitOptions(
        idempotency_key=idempotency_key,
        start_deadline=deadline,
        trace_id=getattr(request.state, "request_id", None),
    )


JobOptions = Annotated[SubmitOptions, Depends(submit_options)]


async def _submitted_before(session: AsyncSession, _: Request, user_id: uuid.UUID, key: str) -> bool:
    """Whether ``user_id`` already submitted a job with this ``Idempotency-Key`` (an indexed read)."""
    stmt = select(Job.id).where(Job.user_id == user_id, Job.idempotency_key == key)
    return await session.scalar(stmt) is not None


def limit_new_submits(scope: str, setting: str) -> LimitDependency:
    """A route's per-person limit (``rate_limit``) that a replay does not spend: a request whose
    ``Idempotency-Key`` names a job the caller already submitted is answered with that job (or a
    409) and makes no new work (``conjure.ratelimit.deps.limit_new_requests``)."""
    return limit_new_requests(scope, setting, _submitted_before)


async def submit(
    runtime: Runtime,
    options: SubmitOptions,
    *,
    user_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    webhook_url: str | None = None,
    prompt_version: str | None = None,
) -> Job:
    """Queue the caller's job of ``kind``, committed and dispatched on return (402 when stars are short)."""
    args = options.engine_args()
    if options.priority is None:
        args["priority"] = await plan_priority(runtime, user_id)
    return await submit_job_now(
        runtime,
        user_id=user_id,
        kind=kind,
        payload=payload,
        webhook_url=webhook_url,
        prompt_version=prompt_version,
        **args,
    )


async def submit_in(
    session: AsyncSession,
    runtime: Runtime,
    options: SubmitOptions,
    *,
    user_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    webhook_url: str | None = None,
    prompt_version: str | None = None,
) -> Job:
    """:func:`submit` in the caller's transaction (the app's rows commit with the job; dispatched after)."""
    args = options.engine_args()
    if options.priority is None:
        args["priority"] = await plan_priority(runtime, user_id, session)
    return await submit_job(
        session,
        runtime,
        user_id=user_id,
        kind=kind,
        payload=payload,
        webhook_url=webhook_url,
        prompt_version=prompt_version,
        **args,
    )


async def plan_priority(runtime: Runtime, user_id: uuid.UUID, session: AsyncSession | None = None) -> int:
    """The class of the user's jobs by their plan (cached per process: a hit costs no round trip;
    a miss reads in ``session``, else in a short one of its own)."""
    if runtime.plan_cache is None:
        runtime.plan_cache = PlanCache(runtime.settings)
    cache = runtime.plan_cache
    limits = cache.cached(user_id)
    if limits is None:
        if session is not None:
            limits = await cache.limits(session, user_id)
        else:
            async with runtime.db.session() as own:
                limits = await cache.limits(own, user_id)
    return queue_class(limits)


async def job_of_kind(
    runtime: Runtime, job_id: uuid.UUID, user_id: uuid.UUID, kind: str, *, missing: str = "No such job."
) -> Job | JobSnapshot:
    """The caller's job if it is of ``kind``; 404 ``not_found`` (``missing``) for anything else."""
    job = await job_view_for_user(runtime, job_id, user_id)
    if job.kind != kind:
        raise NotFound(missing)
    return job
