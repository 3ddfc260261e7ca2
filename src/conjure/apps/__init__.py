"""The apps built on the platform, listed explicitly (the platform never imports an app by itself)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter

from conjure.jobs.registry import JobKind


@dataclass(frozen=True)
class AppSpec:
    """What an app adds: HTTP routers and job kinds."""

    name: str
    routers: list[APIRouter] = field(default_factory=list)
    job_kinds: list[JobKind] = field(default_factory=list)


def installed_apps() -> list[AppSpec]:
    """Every app this build runs; the one place apps are wired in."""
    from conjure.apps.imagegen.spec import APP as IMAGEGEN
    from conjure.apps.staging.spec import APP as STAGING
    from conjure.apps.tarot.spec import APP as TAROT

    return [TAROT, IMAGEGEN, STAGING]
