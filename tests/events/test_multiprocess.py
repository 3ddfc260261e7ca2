"""Two real API processes sharing Redis: one cap per user across them, and a killed one leaks no slot."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

from conjure.events.service import publish_user_event
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.events.conftest import SseReader
from tests.factories import auth_headers, make_user
from tests.servers import free_port

EVENTS = "/api/v1/events"


@contextmanager
def api_process(
    env: dict[str, str], cwd: Path, log: IO[bytes]
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "conjure.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_healthy(client: httpx.AsyncClient, base: str) -> None:
    for _ in range(600):
        with contextlib.suppress(httpx.TransportError):
            if (await client.get(f"{base}/health")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    pytest.fail(f"API at {base} did not start")


async def wait_held(runtime: Runtime, user_id: uuid.UUID, count: int, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if await runtime.sse_slots.held(user_id) == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{await runtime.sse_slots.held(user_id)} slots held, expected {count}")


@pytest.mark.slow
async def test_two_api_processes_share_the_cap_and_a_killed_one_frees_its_slots(
    make_settings: Callable[..., Settings], sqlite_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url=sqlite_url, redis_url=redis_url, sse_max_connections_per_user=2)
    runtime = await Runtime.start(settings, apps=[])
    try:
        user = await make_user(runtime)
        headers = auth_headers(runtime, user)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "SSE_"))},
            "ENVIRONMENT": "test",
            "DATABASE_URL": sqlite_url,
            "REDIS_URL": redis_url,
            "JWT_SECRET": settings.signing_secret,
            "VAR_DIR": str(tmp_path / "var"),
            "STORAGE_URL": f"file://{tmp_path / 'objects'}",
            "SSE_MAX_CONNECTIONS_PER_USER": "2",
            "SSE_LEASE_SECONDS": "1.5",
            "LOG_LEVEL": "WARNING",
        }
        seed = await publish_user_event(runtime.user_events, user.id, "job.succeeded", {"n": 0})
        assert seed is not None
        resume = {**headers, "Last-Event-ID": str(seed.id)}
        log_path = tmp_path / "api.log"
        with (
            log_path.open("wb") as log,
            api_process(env, tmp_path, log) as (first, _),
            api_process(env, tmp_path, log) as (second, second_process),
        ):
            async with httpx.AsyncClient(timeout=10) as client:
                try:
                    await asyncio.gather(wait_healthy(client, first), wait_healthy(client, second))
                except BaseException:
                    print(log_path.read_text(errors="replace")[-4000:])
                    raise
                async with (
                    client.stream("GET", f"{first}{EVENTS}", headers=resume) as one,
                    client.stream("GET", f"{second}{EVENTS}", headers=resume) as two,
                ):
                    assert (one.status_code, two.status_code) == (200, 200)
                    # Either process refuses a third: the count lives in Redis.
                    for base in (first, second):
                        refused = await client.get(f"{base}{EVENTS}", headers=headers)
                        assert refused.status_code == 429
                        assert refused.json()["code"] == "too_many_streams"
                    # An event published by a third process reaches both.
                    await publish_user_event(runtime.user_events, user.id, "image.ready", {"image_id": "i1"})
                    # (One reader per stream for its whole life: a dropped line iterator closes the stream.)
                    readers = [SseReader(one), SseReader(two)]
                    for reader in readers:
                        message = await reader.message()
                        assert (message["event"], json.loads(message["data"])) == (
                            "image.ready",
                            {"image_id": "i1"},
                        )
                    # The second process dies with its stream open: no chance to release its slot.
                    second_process.send_signal(signal.SIGKILL)
                    second_process.wait(timeout=10)
                    assert await runtime.sse_slots.held(user.id) == 2
                    # Its lease is not renewed, so the slot frees itself.
                    await wait_held(runtime, user.id, 1)
                    async with client.stream("GET", f"{first}{EVENTS}", headers=headers) as three:
                        assert three.status_code == 200
    finally:
        await runtime.close()
