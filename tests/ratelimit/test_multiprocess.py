"""The per-principal limit holds across API processes: two real uvicorn servers sharing one Redis."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.factories import auth_headers, make_user
from tests.processes import api_env, two_apis


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
    env = api_env(
        settings,
        database_url=sqlite_url,
        redis_url=redis_url,
        tmp_path=tmp_path,
        drop=("RATE_LIMIT_",),
        RATE_LIMIT_DEFAULT="100/minute",
    )
    async with two_apis(env, tmp_path) as (client, (first, _), (second, _)):
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
