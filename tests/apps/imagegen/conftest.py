"""Imagegen fixtures: a fake provider server, a local store, and handler contexts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conjure.settings import Settings
from conjure.storage.local import LocalObjectStore
from tests.apps.imagegen.fakes import FakeJobContext, FakeServer, fake_runtime


@pytest.fixture
def provider_server() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects", secret="s" * 40, base_url="http://test")


@pytest.fixture
def make_context(
    make_settings: Callable[..., Settings], store: LocalObjectStore
) -> Callable[..., FakeJobContext]:
    def make(
        prompt: str = "a red fox in the snow", size: str = "1024x1024", **overrides: Any
    ) -> FakeJobContext:
        settings = make_settings(**overrides)
        return FakeJobContext(runtime=fake_runtime(settings, store), payload={"prompt": prompt, "size": size})

    return make
