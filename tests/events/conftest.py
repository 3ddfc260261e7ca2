"""Fixtures for the event stream: a real HTTP server (SSE needs one) and an SSE reader."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from conjure.app import create_app
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.servers import free_port

MakeRuntime = Callable[..., Awaitable[Runtime]]


@pytest.fixture
async def make_runtime(make_settings: Callable[..., Settings]) -> AsyncIterator[MakeRuntime]:
    made: list[Runtime] = []

    async def make(**overrides: Any) -> Runtime:
        runtime = await Runtime.start(make_settings(**overrides), apps=[])
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        await runtime.close()


@asynccontextmanager
async def serve(runtime: Runtime) -> AsyncIterator[str]:
    """The API on a real socket in this event loop (httpx's ASGI transport waits for a response to end)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(runtime=runtime, apps=[]),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.025)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class SseReader:
    """Reads one SSE response message by message; comment lines (heartbeats) are counted apart, and
    a message without data (an id only: where the stream starts) sets ``last_id`` only, as in a browser."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.comments: list[str] = []
        self.last_id: str | None = None

    async def message(self, timeout: float = 5.0) -> dict[str, str]:
        return await asyncio.wait_for(self._message(), timeout)

    async def _message(self) -> dict[str, str]:
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line.startswith(":"):
                self.comments.append(line)
            elif not line:
                self.last_id = fields.get("id", self.last_id)
                if "data" in fields:
                    return fields
                fields = {}
            else:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        raise AssertionError("the stream ended")

    async def comment(self, timeout: float = 5.0) -> str:
        async def first() -> str:
            async for line in self._lines:
                if line.startswith(":"):
                    return line
            raise AssertionError("the stream ended")

        return await asyncio.wait_for(first(), timeout)
