"""What an app adds to the platform, beside the job engine's :class:`JobKind` it lists."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.channels.types import InboundHandler
from conjure.jobs.registry import JobKind
from conjure.settings import Settings

# Erases what an app keeps about one person whose account is being deleted, in the deleting
# transaction (never committing). Returns the storage keys of the objects to delete once
# that transaction has committed (None: nothing stored).
UserEraser = Callable[[AsyncSession, uuid.UUID, Settings], Awaitable[Iterable[str] | None]]
# What an app keeps about one person, as JSON-ready data for their export (empty: nothing).
UserExporter = Callable[[AsyncSession, uuid.UUID], Awaitable[dict[str, Any]]]

if TYPE_CHECKING:
    from conjure.db import Database
    from conjure.storage.service import ObjectStore


class AppRuntime(Protocol):
    """The process's runtime as an app's housekeeping sees it (``conjure.runtime.Runtime`` is one;
    named by its parts here, since the runtime itself knows the apps)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def storage(self) -> ObjectStore: ...


@dataclass(frozen=True)
class PeriodicTask:
    """Housekeeping of an app, run by every worker process's scheduler (``conjure.jobs.scheduler``):
    ``run(runtime)`` every ``every(settings)`` seconds; it must be safe to run in several
    processes at once. Returns how much it did (for the logs)."""

    name: str
    run: Callable[[AppRuntime], Awaitable[int]]
    every: Callable[[Settings], float]


if TYPE_CHECKING:
    from conjure.payments.purposes import PurposeHandler

if TYPE_CHECKING:
    from conjure.settings import Settings

# A readiness check an app adds to ``/ready``: its state, ``ok``, ``warming`` (shown, not failing:
# e.g. a model still loading) or ``failed`` (the process is not ready); None: nothing to check.
ReadyCheck = Callable[["Settings"], Awaitable[str | None]]


@dataclass(frozen=True)
class AppSpec:
    """An app: its HTTP routers, its job kinds, the folder of its Alembic migrations and its inbox.

    ``migrations`` is an Alembic version location whose first revision carries the app's
    own branch label and ``depends_on`` the platform revision it was written against;
    apps shipped in ``conjure/apps/<name>/migrations/versions`` are found without it.
    ``on_inbound_message`` receives every message of the messaging channels (``conjure.channels``),
    called by the platform's ``channels.process`` job inside its transaction.

    ``erase_user`` and ``export_user`` are the app's part of account deletion and of the
    person's data export (``DELETE /api/v1/me``, ``GET /api/v1/me/export``); an app that keeps
    personal data declares both.
    """

    name: str
    routers: list[APIRouter] = field(default_factory=list)
    job_kinds: list[JobKind] = field(default_factory=list)
    migrations: Path | None = None
    periodic: list[PeriodicTask] = field(default_factory=list)
    on_inbound_message: InboundHandler | None = None
    erase_user: UserEraser | None = None
    export_user: UserExporter | None = None
    # Stripe PaymentIntents the app tags with ``metadata.purpose``: their webhook events go here.
    stripe_purposes: Mapping[str, PurposeHandler] = field(default_factory=dict)
    ready_checks: dict[str, ReadyCheck] = field(default_factory=dict)
