"""What an app adds to the platform, beside the job engine's :class:`JobKind` it lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter

from conjure.channels.types import InboundHandler
from conjure.jobs.registry import JobKind


@dataclass(frozen=True)
class AppSpec:
    """An app: its HTTP routers, its job kinds, the folder of its Alembic migrations and its inbox.

    ``migrations`` is an Alembic version location whose first revision carries the app's
    own branch label and ``depends_on`` the platform revision it was written against;
    apps shipped in ``conjure/apps/<name>/migrations/versions`` are found without it.
    ``on_inbound_message`` receives every message of the messaging channels (``conjure.channels``),
    called by the platform's ``channels.process`` job inside its transaction.
    """

    name: str
    routers: list[APIRouter] = field(default_factory=list)
    job_kinds: list[JobKind] = field(default_factory=list)
    migrations: Path | None = None
    on_inbound_message: InboundHandler | None = None
