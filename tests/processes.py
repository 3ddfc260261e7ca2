"""Real API processes for tests that need more than one: start ``uvicorn``, wait for health, stop.

Shared by the multi-process tests (SSE slots, rate limits) and the browser tests' ``conjure up``, so
every test that spawns a server starts and stops it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

from conjure.settings import Settings
from tests.servers import free_port

STARTUP_SECONDS = 60  # a cold start is slow when the machine is busy


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Terminate, and kill what does not exit within ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def api_env(
    settings: Settings,
    *,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    drop: Sequence[str] = (),
    **extra: str,
) -> dict[str, str]:
    """The environment of an API process sharing ``settings``' signing secret, database and Redis.

    Variables starting with ``DATABASE_``, ``REDIS_`` or a prefix in ``drop`` are taken out of this
    process's environment first, so a developer's own settings cannot leak in; ``extra`` is added last.
    """
    prefixes = ("DATABASE_", "REDIS_", *drop)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(prefixes)},
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": settings.signing_secret,
        "VAR_DIR": str(tmp_path / "var"),
        "STORAGE_URL": f"file://{tmp_path / 'objects'}",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@contextmanager
def api_process(
    env: dict[str, str], cwd: Path, log: IO[bytes]
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real ``uvicorn`` API process and its base URL; output goes to ``log`` (a file: a pipe fills up)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "conjure.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        stop_process(process)


async def wait_healthy(client: httpx.AsyncClient, log_path: Path, *bases: str) -> None:
    """Wait until every API answers ``/health``; if one does not, print the end of their shared log."""

    async def one(base: str) -> None:
        for _ in range(STARTUP_SECONDS * 10):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{base}/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        pytest.fail(f"API at {base} did not start")

    try:
        await asyncio.gather(*(one(base) for base in bases))
    except BaseException:
        print(log_path.read_text(errors="replace")[-4000:])
        raise


Api = tuple[str, subprocess.Popen[bytes]]  # a process's base URL, and the process


@asynccontextmanager
async def two_apis(env: dict[str, str], cwd: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Api, Api]]:
    """Two healthy API processes with ``env`` (their shared log is ``cwd / "api.log"``) and a client."""
    log_path = cwd / "api.log"
    with (
        log_path.open("wb") as log,
        api_process(env, cwd, log) as first,
        api_process(env, cwd, log) as second,
    ):
        async with httpx.AsyncClient(timeout=10) as client:
            await wait_healthy(client, log_path, first[0], second[0])
            yield client, first, second
