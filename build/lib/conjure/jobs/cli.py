"""Operator commands: ``conjure jobs stats`` and ``conjure jobs dlq list|redrive|purge``."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from conjure.jobs import dlq as dead_letters
from conjure.jobs import service
from conjure.jobs.models import JobStatus
from conjure.jobs.schemas import AdminJobView
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
    """Jobs by status (the table) and ready/pending/delayed/dead-letter counts (the broker)."""

    async def work(runtime: Runtime) -> dict[str, Any]:
        async with runtime.db.session() as session:
            by_status = await service.count_by_status(session)
        broker = (await runtime.broker.stats()).as_dict()
        return {"by_status": by_status, "broker": broker, "workers": sorted(await runtime.broker.workers())}

    _echo(_run(work))


@dlq.command("list")
def dlq_list(limit: int = typer.Option(50, help="How many, most recent first.")) -> None:
    """List DLQ jobs (no payloads: they may hold user content)."""

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.db.session() as session:
            jobs = await service.list_jobs(session, status=JobStatus.DLQ, limit=limit)
            return [AdminJobView.from_job(job).model_dump(mode="json") for job in jobs]

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
