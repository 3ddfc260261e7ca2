"""What an app adds to the platform, beside the job engine's :class:`JobKind` it lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter

from conjure.jobs.registry import JobKind

if TYPE_CHECKING:
    from conjure.settings import Settings

# A readiness check an app adds to ``/ready``: its state, ``ok``, ``warming`` (shown, not failing:
# e.g. a model still loading) or ``failed`` (the process is not ready); None: nothing to check.
ReadyCheck = Callable[["Settings"], Awaitable[str | None]]


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
    ready_checks: dict[str, ReadyCheck] = field(default_factory=dict)
