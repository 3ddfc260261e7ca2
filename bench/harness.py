"""Shared pieces of the benchmarks: real PostgreSQL + Redis, Conjure processes, wrk runs.

Every benchmark starts its own servers on loopback (the same ones the tests use),
so a run on a fresh machine needs only `make bench`.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import RedisServer, free_port, postgres_server  # noqa: E402

RESULTS = ROOT / "bench" / "results"


@dataclass
class Infra:
    database_url: str
    redis_url: str
    redis: RedisServer


@contextmanager
def infrastructure(db_name: str = "bench") -> Iterator[Infra]:
    """PostgreSQL with a migrated database, and Redis, both private to this run."""
    from conjure.migrations.runner import upgrade

    with postgres_server() as admin_url:

        async def create() -> None:
            conn = await asyncpg.connect(admin_url.replace("+asyncpg", ""))
            await conn.execute(f'CREATE DATABASE "{db_name}"')
            await conn.close()

        asyncio.run(create())
        url = admin_url.rsplit("/", 1)[0] + f"/{db_name}"
        upgrade(url)
        redis = RedisServer()
        redis.start()
        try:
            yield Infra(database_url=url, redis_url=redis.url, redis=redis)
        finally:
            redis.stop()


def conjure_env(infra: Infra, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ENVIRONMENT": "production",
            "DATABASE_URL": infra.database_url,
            "REDIS_URL": infra.redis_url,
            "JWT_SECRET": "bench-secret-" + "x" * 40,
            "LOG_LEVEL": "WARNING",
            "VAR_DIR": tempfile.mkdtemp(prefix="conjure-bench-var-"),
            "STORAGE_URL": "file://" + tempfile.mkdtemp(prefix="conjure-bench-objects-"),
            "RATE_LIMIT_DEFAULT": "1000000/minute",
            "RATE_LIMIT_GENERATION": "1000000/minute",
        }
    )
    env.update(extra)
    return env


@contextmanager
def process(
    cmd: list[str], env: dict[str, str], *, ready_url: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a process for the duration of the block; wait for ``ready_url`` to answer 200."""
    log = tempfile.NamedTemporaryFile(prefix="conjure-bench-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        if ready_url:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{cmd} exited; see {log.name}")
                try:
                    if httpx.get(ready_url, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{cmd} not ready; see {log.name}")
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def conjure_api(
    infra: Infra, *, workers: int = 1, **extra: str
) -> tuple[str, AbstractContextManager[subprocess.Popen[bytes]]]:
    """``conjure api`` with ``workers`` processes on a free port: (base URL, context manager)."""
    port = free_port()
    cmd = [sys.executable, "-m", "conjure.cli", "api", "--port", str(port), "--workers", str(workers)]
    ready = f"http://127.0.0.1:{port}/health"
    return f"http://127.0.0.1:{port}", process(cmd, conjure_env(infra, **extra), ready_url=ready)


def rss_kib(pid: int) -> int:
    """Resident set size of one process (VmRSS from /proc), in KiB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (uvicorn's worker processes)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


@contextmanager
def py_spy(pid: int, out: Path, seconds: int) -> Iterator[None]:
    """Sample ``pid`` with py-spy (collapsed stacks) while the block runs."""
    cmd = [
        "py-spy",
        "record",
        "--nonblocking",
        "--format",
        "raw",
        "-r",
        "250",
        "-d",
        str(seconds),
        "-p",
        str(pid),
        "-o",
        str(out),
    ]
    spy = subprocess.Popen(
        [str(Path(sys.executable).parent / cmd[0]), *cmd[1:]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    try:
        yield
    finally:
        spy.wait(seconds + 30)


def hot_frames(collapsed: Path, top: int = 40) -> list[tuple[str, float, float]]:
    """(frame, inclusive %, self %) of the hottest frames in a py-spy collapsed-stack file."""
    inclusive: dict[str, int] = {}
    self_time: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        # Frames read "func (file.py:line)"; rank by function, not by line.
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        self_time[frames[-1]] = self_time.get(frames[-1], 0) + count
    ranked = sorted(inclusive, key=lambda f: inclusive[f], reverse=True)[:top]
    return [
        (f, round(100 * inclusive[f] / total, 1), round(100 * self_time.get(f, 0) / total, 1)) for f in ranked
    ]


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_2xx: int
    # CPU the server's processes spent per request: steady where requests/s swing with CPU steal.
    cpu_ms_per_request: float | None = None


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (from /proc/<pid>/stat)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(
    url: str,
    *,
    script: Path | None = None,
    seconds: int = 10,
    connections: int = 64,
    threads: int = 2,
    env: dict[str, str] | None = None,
    server_pids: list[int] | None = None,
) -> WrkResult:
    """Run wrk on loopback and parse its --latency report (and the server's CPU per request)."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    cpu_before = cpu_seconds(server_pids or [])
    run = subprocess.run([*cmd, url], capture_output=True, text=True, env=env)
    cpu_used = cpu_seconds(server_pids or []) - cpu_before
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stderr.strip() or run.stdout.strip()}")
    out = run.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # Anchored to the "Latency Distribution" lines: a "+/- Stdev" such as 99.50% must not match.
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(x) for x in errors_match.groups()) if errors_match else 0
    non2xx_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    cpu = round(1000 * cpu_used / requests, 3) if server_pids and requests else None
    return WrkResult(rps, p50, p99, errors, int(non2xx_match.group(1)) if non2xx_match else 0, cpu)


def summary(values: list[float]) -> dict[str, float]:
    """Median and spread (min, max) of several runs."""
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def self_by_package(collapsed: Path) -> list[tuple[str, float]]:
    """Share of samples by the package of the innermost frame (where the CPU actually was)."""
    shares: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        leaf = stack.split(";")[-1]
        match = re.search(r"\(([^/:)]+)", leaf)
        package = match.group(1) if match else "?"
        if "selector_events.py" in leaf or "socket" in leaf:
            package = "asyncio socket I/O (syscalls)"
        shares[package] = shares.get(package, 0) + int(count_text)
        total += int(count_text)
    ranked = sorted(shares.items(), key=lambda kv: kv[1], reverse=True)
    return [(name, round(100 * n / total, 1)) for name, n in ranked]


async def seed_users(infra: Infra, count: int, *, stars: int, prefix: str) -> list[tuple[str, str]]:
    """``count`` users granted ``stars`` through the wallet (so the ledger stays true): (user id, token)."""
    from conjure.auth.tokens import issue_access_token
    from conjure.db import Database
    from conjure.settings import Settings
    from conjure.users.service import create_user
    from conjure.wallet.service import credit

    env = conjure_env(infra)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=env["DATABASE_URL"],
        jwt_secret=env["JWT_SECRET"],
        environment="production",
    )
    db = Database(settings.resolved_database_url)
    users = []
    for start in range(0, count, 250):
        async with db.session() as session:
            for i in range(start, min(start + 250, count)):
                user = await create_user(session, settings, email=f"{prefix}{i}@example.com")
                await credit(
                    session, user.id, amount=stars, currency="star", tx_type="grant",
                    idempotency_key=f"{prefix}-grant:{user.id}",
                )  # fmt: skip
                users.append((str(user.id), issue_access_token(settings, user.id, ttl_seconds=6 * 3600)))
    await db.dispose()
    return users
