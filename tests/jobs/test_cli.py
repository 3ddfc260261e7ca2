"""``conjure jobs …`` operator commands against a real database."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

from typer.testing import CliRunner

from conjure.cli import app
from conjure.db import utcnow
from conjure.jobs.models import Job, JobStatus
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.factories import make_user
from tests.jobs.kinds import APP


def test_stats_and_dlq_commands(make_settings: Callable[..., Settings], sqlite_url: str) -> None:
    settings = make_settings(database_url=sqlite_url)
    dead = [uuid.uuid4(), uuid.uuid4()]
    paid = uuid.uuid4()  # a priced job whose owner has no star left for a new hold

    async def seed() -> None:
        runtime = await Runtime.start(settings, apps=[APP])
        owner = await make_user(runtime)
        async with runtime.db.session() as session:
            for job_id in [*dead, paid]:
                now = utcnow()
                session.add(
                    Job(
                        id=job_id,
                        kind="t.noop",
                        status=JobStatus.DLQ,
                        payload={},
                        attempts=5,
                        error_code="x",
                        max_attempts=5,
                        price_stars=1 if job_id == paid else 0,
                        user_id=owner.id if job_id == paid else None,
                        run_at=now,
                        event_seq=3,
                        created_at=now,
                        updated_at=now,
                    )
                )
        await runtime.close()

    asyncio.run(seed())
    env = {
        "DATABASE_URL": sqlite_url,
        "VAR_DIR": str(settings.var_dir),
        "JWT_SECRET": "x" * 40,
        "REDIS_URL": "",
    }
    runner = CliRunner()

    listed = runner.invoke(app, ["jobs", "dlq", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    page = json.loads(listed.output)  # the API's page: items, total, limit, offset
    assert {row["id"] for row in page["items"]} == {str(j) for j in [*dead, paid]}
    assert (page["total"], page["limit"], page["offset"]) == (3, 50, 0)
    rest = runner.invoke(app, ["jobs", "dlq", "list", "--limit", "2", "--offset", "2"], env=env)
    last = json.loads(rest.output)
    assert ([row["id"] for row in last["items"]], last["total"]) == ([page["items"][2]["id"]], 3)

    refused = runner.invoke(app, ["jobs", "dlq", "redrive"], env=env)
    assert refused.exit_code != 0
    one = runner.invoke(app, ["jobs", "dlq", "redrive", str(dead[0])], env=env)
    assert json.loads(one.output) == {"redriven": 1, "short_of_stars": [], "free": False}
    short = runner.invoke(app, ["jobs", "dlq", "redrive", str(paid)], env=env)
    assert json.loads(short.output) == {"redriven": 0, "short_of_stars": [str(paid)], "free": False}
    free = runner.invoke(app, ["jobs", "dlq", "redrive", "--free", str(paid)], env=env)
    assert json.loads(free.output) == {"redriven": 1, "short_of_stars": [], "free": True}
    assert runner.invoke(app, ["jobs", "dlq", "purge"], env=env).exit_code != 0  # needs --yes
    purged = runner.invoke(app, ["jobs", "dlq", "purge", "--yes"], env=env)
    assert json.loads(purged.output) == {"purged": 1}

    stats = json.loads(runner.invoke(app, ["jobs", "stats"], env=env).output)
    assert stats["by_status"]["queued"] == 2
    assert stats["by_status"]["failed"] == 1
    assert stats["by_status"]["dlq"] == 0
