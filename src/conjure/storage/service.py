"""Object store interface (placeholder until the storage issue lands)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from conjure.settings import Settings


class ObjectStore(Protocol):
    async def ping(self) -> None: ...


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    async def ping(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)


def make_storage(settings: Settings) -> ObjectStore:
    url = settings.resolved_storage_url
    return LocalObjectStore(Path(url.removeprefix("file://")))
