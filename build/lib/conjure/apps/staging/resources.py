"""What the staging job uses, taken from its :class:`JobContext` once: settings (the platform's
and the app's), the object store, the database (the image row, Replicate predictions, each
in a short transaction of its own) and the users' event hub (``image.failed``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from conjure.apps.staging.settings import StagingSettings

if TYPE_CHECKING:
    from conjure.db import Database
    from conjure.events.types import UserEventHub
    from conjure.jobs.registry import JobContext
    from conjure.settings import Settings
    from conjure.storage.service import ObjectStore


@dataclass(frozen=True)
class JobResources:
    settings: Settings
    staging: StagingSettings
    storage: ObjectStore
    db: Database
    user_events: UserEventHub


def job_resources(ctx: JobContext) -> JobResources:
    return JobResources(
        settings=ctx.settings,
        staging=ctx.settings.for_app(StagingSettings),
        storage=ctx.storage,
        db=ctx.db,
        user_events=ctx.user_events,
    )
