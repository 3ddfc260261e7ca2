"""``conjure auth create-key / revoke-key / set-role`` against the same database the API uses."""

from __future__ import annotations

import asyncio

import httpx
from click.testing import Result
from typer.testing import CliRunner

from conjure.cli import app
from conjure.runtime import Runtime
from tests.factories import make_user


async def conjure(runtime: Runtime, *args: str) -> Result:
    """Run the real command line in a thread (it runs its own event loop) on this database."""
    env = {"DATABASE_URL": runtime.settings.resolved_database_url}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def test_operator_creates_and_revokes_keys_and_sets_roles(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime, email="ops@example.com")
    created = await conjure(
        runtime, "auth", "create-key", "ops@example.com", "--name", "batch", "--rate-limit", "20/minute"
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {key}"}
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["id"] == str(user.id)
    assert me.headers["ratelimit-limit"] == "20"  # the key's own, lower limit is the tightest

    assert (await conjure(runtime, "auth", "set-role", str(user.id), "admin")).exit_code == 0
    assert (await client.get("/api/v1/me", headers=headers)).json()["role"] == "admin"

    key_id = (await client.get("/api/v1/auth/api-keys", headers=headers)).json()["items"][0]["id"]
    assert (await conjure(runtime, "auth", "revoke-key", key_id)).exit_code == 0
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401

    unknown = await conjure(runtime, "auth", "create-key", "nobody@example.com", "--name", "x")
    assert unknown.exit_code == 1
    assert "No user" in unknown.stderr
    bad_limit = await conjure(
        runtime, "auth", "create-key", str(user.id), "--name", "x", "--rate-limit", "lots"
    )
    assert bad_limit.exit_code == 1
