"""Operator commands: ``conjure jobs stats`` and ``conjure jobs dlq list|redrive|purge``."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.db import utcnow
from conjure.jobs import dlq as dead_letters
from conjure.jobs import service
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.schemas import AdminJobView
from conjure.kit.paging import Page
from conjure.runtime import Runtime
from conjure.settings import Settings

app = typer.Typer(help="The job engine: queue stats and the dead-letter queue.", no_args_is_help=True)
dlq = typer.Typer(help="Jobs that used up their attempts.", no_args_is_help=True)
app.add_typer(dlq, name="dlq")
T = TypeVar("T")


def _run(work: Callable[[Runtime], Awaitable[T]]) -> T:
    async def main() -> T:
        runtime = await Runtime.start(Settings())
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(main())


def _echo(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


@app.command()
def stats() -> None:
    """Jobs by status and the DLQ (the table), the broker's counts, and the live workers.

    On the embedded default the queue lives in the memory of the ``conjure up`` process, which
    this command cannot see: the broker's counts are then omitted rather than shown as zeros, and
    the live workers are those holding a job lease in the table right now.
    """

    async def work(runtime: Runtime) -> dict[str, Any]:
        async with runtime.db.session() as session:
            by_status = await service.count_by_status(session)
            leased = await _leased_workers(session)
        found: dict[str, Any] = {"by_status": by_status, "dlq": by_status.get(JobStatus.DLQ, 0)}
        if runtime.broker.durable:
            found["broker"] = (await runtime.broker.stats()).as_dict()
            found["workers"] = sorted(await runtime.broker.workers())
            found["workers_seen_by"] = "broker"
        else:
            found["broker"] = None
            found["workers"] = leased
            found["workers_seen_by"] = (
                "job leases (embedded broker: idle workers inside `conjure up` are not listed)"
            )
        return found

    _echo(_run(work))


async def _leased_workers(session: AsyncSession) -> list[str]:
    """Workers holding an unexpired lease on a processing job (alive, by the table's record)."""
    rows = await session.execute(
        select(Job.worker_id)
        .where(
            Job.status == JobStatus.PROCESSING, Job.lease_expires_at > utcnow(), Job.worker_id.is_not(None)
        )
        .distinct()
    )
    return sorted(str(worker) for worker in rows.scalars())


@dlq.command("list")
def dlq_list(
    limit: int = typer.Option(50, min=1, help="How many, the latest to arrive first."),
    offset: int = typer.Option(0, min=0, help="How many to skip."),
) -> None:
    """List DLQ jobs (no payloads: they may hold user content) as the API's page: items, total,
    limit, offset."""

    async def work(runtime: Runtime) -> dict[str, Any]:
        async with runtime.db.session() as session:
            jobs, total = await dead_letters.list_dead_letters(session, limit=limit, offset=offset)
            items = [AdminJobView.from_job(job) for job in jobs]
        page = Page[AdminJobView](items=items, total=total, limit=limit, offset=offset)
        return page.model_dump(mode="json")

    _echo(_run(work))


@dlq.command("redrive")
def dlq_redrive(
    job_ids: list[str] = typer.Argument(None, help="Job ids; none with --all."),
    all_jobs: bool = typer.Option(False, "--all", help="Re-drive every DLQ job."),
    free: bool = typer.Option(False, "--free", help="Run priced jobs without a new hold (on the house)."),
) -> None:
    """Put DLQ jobs back in the queue with a fresh attempt budget; a priced one holds its price
    again (an owner without the stars keeps it in the DLQ: listed in short_of_stars) unless --free."""
    if not job_ids and not all_jobs:
        raise typer.BadParameter("Give job ids or --all.")
    ids = None if all_jobs else [uuid.UUID(job_id) for job_id in job_ids]

    async def work(runtime: Runtime) -> dict[str, Any]:
        async with runtime.db.session() as session:
            done = await dead_letters.redrive(session, runtime, ids, free=free)
        return {
            "redriven": len(done.redriven),
            "short_of_stars": [str(job_id) for job_id in done.short_of_stars],
            "free": free,
        }

    _echo(_run(work))


@dlq.command("purge")
def dlq_purge(yes: bool = typer.Option(False, "--yes", help="Confirm.")) -> None:
    """Give up on every DLQ job: each becomes ``failed`` (rows are kept) and leaves the DLQ stream."""
    if not yes:
        raise typer.BadParameter("Purging is final: add --yes.")

    async def work(runtime: Runtime) -> int:
        async with runtime.db.session() as session:
            return await dead_letters.purge_dlq(session, runtime)

    _echo({"purged": _run(work)})
