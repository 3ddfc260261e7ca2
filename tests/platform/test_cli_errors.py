"""``conjure`` commands fail with one sentence on stderr and an exit code, never a traceback, and
``conjure jobs stats`` tells the truth on the embedded default."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import insert

from conjure import cli
from conjure.db import Database, utcnow
from conjure.jobs.models import JOBS, JobStatus


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["conjure", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., None]:
    for name in ("DATABASE_URL", "REDIS_URL", "STRIPE_API_KEY", "JWT_SECRET", "WORKER_METRICS_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no developer's .env
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def one_sentence(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("conjure: ")
    return lines[0]


def test_payments_reconcile_with_payments_off(
    env: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sqlite_url: str,
) -> None:
    env(DATABASE_URL=sqlite_url)
    code, _, err = run(monkeypatch, capsys, "payments", "reconcile")
    assert code == cli.CONFIG
    assert "STRIPE_API_KEY" in one_sentence(err)


def test_production_start_without_jwt_secret(
    env: Callable[..., None], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env(ENVIRONMENT="production")
    code, _, err = run(monkeypatch, capsys, "worker")
    assert code == cli.CONFIG
    assert "JWT_SECRET must be set" in one_sentence(err)


def test_a_second_worker_on_a_taken_metrics_port(
    env: Callable[..., None], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env(WORKER_METRICS_PORT=str(port))
        code, _, err = run(monkeypatch, capsys, "worker")
    assert code == cli.UNAVAILABLE
    assert f"WORKER_METRICS_PORT {port} is already in use" in one_sentence(err)


def test_a_command_on_a_database_never_migrated(
    env: Callable[..., None], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(monkeypatch, capsys, "jobs", "stats")
    assert code == cli.CONFIG
    assert "run `conjure migrate`" in one_sentence(err)


def test_jobs_stats_on_the_embedded_default_counts_the_dlq_and_leased_workers(
    env: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sqlite_url: str,
) -> None:
    now = utcnow()
    base = {
        "kind": "tarot.reading",
        "payload": {},
        "attempts": 1,
        "max_attempts": 5,
        "price_stars": 0,
        "schema_version": "1",
        "run_at": now,
        "cancel_requested": False,
        "event_seq": 1,
        "created_at": now,
        "updated_at": now,
        "worker_id": None,  # every row names the same columns (one executemany)
        "lease_expires_at": None,
    }
    rows = [
        {**base, "id": uuid.uuid4(), "status": JobStatus.DLQ},
        {**base, "id": uuid.uuid4(), "status": JobStatus.DLQ},
        {
            **base,
            "id": uuid.uuid4(),
            "status": JobStatus.PROCESSING,
            "worker_id": "host-1-live",
            "lease_expires_at": now + dt.timedelta(seconds=60),
        },
        {
            **base,
            "id": uuid.uuid4(),
            "status": JobStatus.PROCESSING,
            "worker_id": "host-2-gone",
            "lease_expires_at": now - dt.timedelta(seconds=60),
        },
    ]

    async def insert_jobs() -> None:
        db = Database(sqlite_url)
        async with db.session() as session:
            await session.execute(insert(JOBS), rows)
        await db.dispose()

    # The command runs its own event loop (asyncio.run), so this test is a plain function.
    asyncio.run(insert_jobs())
    env(DATABASE_URL=sqlite_url)
    code, out, _ = run(monkeypatch, capsys, "jobs", "stats")
    stats = json.loads(out)
    assert code == 0
    assert stats["dlq"] == 2
    assert stats["by_status"]["processing"] == 2
    assert stats["broker"] is None  # the embedded queue is in another process's memory
    assert stats["workers"] == ["host-1-live"]
