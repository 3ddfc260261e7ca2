"""The per-principal limit holds across API processes: two real uvicorn servers sharing one Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.factories import auth_headers, make_user
from tests.servers import free_port

STARTUP_SECONDS = 60


@contextmanager
def api_process(env: dict[str, str], cwd: Path, log: IO[bytes]) -> Iterator[str]:
    """A real ``uvicorn`` API process; its output goes to ``log`` (a file: a pipe could fill up)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "conjure.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _wait_healthy(client: httpx.AsyncClient, base: str) -> None:
    for _ in range(STARTUP_SECONDS * 10):
        try:
            if (await client.get(f"{base}/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    pytest.fail(f"API at {base} did not start")


@pytest.mark.slow
async def test_limit_is_shared_by_two_api_processes(
    make_settings: Callable[..., Settings], sqlite_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url=sqlite_url)
    runtime = await Runtime.start(settings)
    try:
        user = await make_user(runtime)
        headers = auth_headers(runtime, user)
    finally:
        await runtime.close()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "RATE_LIMIT_"))},
        "ENVIRONMENT": "test",
        "DATABASE_URL": sqlite_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": settings.signing_secret,
        "VAR_DIR": str(tmp_path / "var"),
        "STORAGE_URL": f"file://{tmp_path / 'objects'}",
        "RATE_LIMIT_DEFAULT": "100/minute",
        "LOG_LEVEL": "WARNING",
    }
    log_path = tmp_path / "api.log"
    with (
        log_path.open("wb") as log,
        api_process(env, tmp_path, log) as first,
        api_process(env, tmp_path, log) as second,
    ):
        async with httpx.AsyncClient(timeout=10) as client:
            try:
                await asyncio.gather(_wait_healthy(client, first), _wait_healthy(client, second))
            except BaseException:
                print(log_path.read_text(errors="replace")[-4000:])
                raise
            statuses = []
            for i in range(101):
                base = first if i % 2 == 0 else second
                statuses.append((await client.get(f"{base}/api/v1/me", headers=headers)).status_code)
            # Either process refuses now: the window lives in Redis, not in a process.
            again = await client.get(f"{second}/api/v1/me", headers=headers)
    assert statuses[:100] == [200] * 100
    assert statuses[100] == 429
    assert again.status_code == 429
    assert int(again.headers["retry-after"]) >= 1
