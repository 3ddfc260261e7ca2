"""What the staging job uses besides its :class:`JobContext`: the one place it reaches the runtime.

The job needs the database (the image row, Replicate predictions), the object store and
both settings objects. The engine's context is being narrowed (settings, storage, limiter);
when it is, only :func:`job_resources` changes (e.g. to an app-resources hook of the kit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from conjure.apps.staging.settings import StagingSettings, staging_settings

if TYPE_CHECKING:
    from conjure.db import Database
    from conjure.jobs.registry import JobContext
    from conjure.runtime import Runtime
    from conjure.settings import Settings
    from conjure.storage.service import ObjectStore


@dataclass(frozen=True)
class JobResources:
    settings: Settings
    staging: StagingSettings
    storage: ObjectStore
    db: Database
    runtime: Runtime  # only for notify.publish_image_event, until the platform's publisher lands


def job_resources(ctx: JobContext) -> JobResources:
    runtime = ctx.runtime
    return JobResources(
        settings=runtime.settings,
        staging=staging_settings(runtime),
        storage=runtime.storage,
        db=runtime.db,
        runtime=runtime,
    )
