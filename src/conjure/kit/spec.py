"""What an app adds to the platform, beside the job engine's :class:`JobKind` it lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter

from conjure.jobs.registry import JobKind

if TYPE_CHECKING:
    from conjure.runtime import Runtime
    from conjure.settings import Settings


@dataclass(frozen=True)
class PeriodicTask:
    """Housekeeping of an app, run by every worker process's scheduler (``conjure.jobs.scheduler``):
    ``run(runtime)`` every ``every(settings)`` seconds; it must be safe to run in several
    processes at once. Returns how much it did (for the logs)."""

    name: str
    run: Callable[[Runtime], Awaitable[int]]
    every: Callable[[Settings], float]


@dataclass(frozen=True)
class AppSpec:
    """An app: its HTTP routers, its job kinds and the folder of its Alembic migrations.

    ``migrations`` is an Alembic version location whose first revision carries the app's
    own branch label and ``depends_on`` the platform revision it was written against;
    apps shipped in ``conjure/apps/<name>/migrations/versions`` are found without it.
    """

    name: str
    routers: list[APIRouter] = field(default_factory=list)
    job_kinds: list[JobKind] = field(default_factory=list)
    migrations: Path | None = None
    periodic: list[PeriodicTask] = field(default_factory=list)
