"""The example app: ``POST /api/example/greet {name}`` → a paid job that greets → a row and a poll route.

Everything comes from the kit: the submit options and helpers, the problem maps, ``Page``
and ``PageDep``, ``AppSettings`` and ``AppSpec`` with its own migrations folder.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.auth.deps import CurrentPrincipal, CurrentUser
from conjure.deps import RuntimeDep, SessionDep
from conjure.jobs.models import Job
from conjure.jobs.registry import JobContext, JobKind
from conjure.kit.paging import Page, PageDep
from conjure.kit.problems import SUBMIT_PROBLEMS, problems
from conjure.kit.spec import AppSpec
from conjure.kit.submit import JobOptions, JobRequest, job_of_kind, submit
from tests.apps.example.models import Greeting
from tests.apps.example.settings import ExampleSettings

KIND = "example.greet"


class GreetRequest(JobRequest):
    name: str = Field(min_length=1, max_length=40)


class GreetAccepted(BaseModel):
    job_id: uuid.UUID
    status: str


class GreetView(BaseModel):
    job_id: uuid.UUID
    status: str
    text: str | None = None


class GreetingOut(BaseModel):
    job_id: uuid.UUID
    text: str


async def greet(ctx: JobContext) -> dict[str, Any]:
    """The handler: its setting, its payload, its result."""
    greeting = ctx.settings.for_app(ExampleSettings).example_greeting
    return {"text": f"{greeting}, {ctx.payload['name']}"}


async def save_greeting(session: AsyncSession, job: Job, result: dict[str, Any]) -> None:
    """``on_success``: the row commits with the job's success and the capture of its star."""
    assert job.user_id is not None
    session.add(Greeting(user_id=job.user_id, job_id=job.id, text=result["text"]))


router = APIRouter(prefix="/api/example", tags=["example"])


@router.post("/greet", status_code=202, responses=SUBMIT_PROBLEMS)
async def post_greet(
    body: GreetRequest, options: JobOptions, principal: CurrentPrincipal, runtime: RuntimeDep
) -> GreetAccepted:
    payload = {"name": body.name}
    job = await submit(
        runtime, options, user_id=principal.user_id, kind=KIND, payload=payload, webhook_url=body.webhook
    )
    return GreetAccepted(job_id=job.id, status=job.status)


@router.get("/greet/{job_id}", responses=problems(401, 404))
async def get_greet(job_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep) -> GreetView:
    job = await job_of_kind(runtime, job_id, principal.user_id, KIND, missing="No such greeting.")
    return GreetView(job_id=job.id, status=job.status, text=(job.result or {}).get("text"))


@router.get("/greetings", responses=problems(401, 422))
async def list_greetings(user: CurrentUser, session: SessionDep, page: PageDep) -> Page[GreetingOut]:
    mine = Greeting.user_id == user.id
    total = await session.scalar(select(func.count()).select_from(Greeting).where(mine))
    rows = await session.scalars(
        select(Greeting)
        .where(mine)
        .order_by(Greeting.created_at.desc())
        .limit(page.limit)
        .offset(page.offset)
    )
    items = [GreetingOut(job_id=row.job_id, text=row.text) for row in rows]
    return Page[GreetingOut](items=items, total=int(total or 0), limit=page.limit, offset=page.offset)


EXAMPLE = AppSpec(
    name="example",
    routers=[router],
    job_kinds=[JobKind(name=KIND, handler=greet, price_stars=1, on_success=save_greeting)],
    migrations=Path(__file__).parent / "migrations" / "versions",
)
