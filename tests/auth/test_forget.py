"""A deleted account's access token stops working on every API process at once: the deletion is
announced on Redis once committed and each process's listener forgets the user in its cache (a
process without the listener keeps accepting the token until its known-users cache time)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
from fastapi import FastAPI

from conjure.announcements import USERS_FORGOTTEN as CHANNEL
from conjure.app import create_app, listening_for_announcements
from conjure.runtime import Runtime
from conjure.settings import Settings

PASSWORD = "correct horse battery"


@pytest.fixture
async def runtime(
    make_settings: Callable[..., Settings], pg_url: str, redis_url: str
) -> AsyncIterator[Runtime]:
    started = await Runtime.start(make_settings(database_url=pg_url, redis_url=redis_url))
    yield started
    await started.close()


def client_of(runtime: Runtime) -> tuple[httpx.AsyncClient, FastAPI]:
    """One API process's app (its own caches) on the shared runtime, and a client for it."""
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://api"), app


async def test_every_listening_process_forgets_a_deleted_user_at_once(runtime: Runtime) -> None:
    deleter, _ = client_of(runtime)
    listening, listening_app = client_of(runtime)
    deaf, _ = client_of(runtime)
    async with AsyncExitStack() as stack:
        for client in (deleter, listening, deaf):
            await stack.enter_async_context(client)
        await stack.enter_async_context(listening_for_announcements(listening_app))
        assert runtime.redis is not None
        for _ in range(100):
            if dict(await runtime.redis.pubsub_numsub(CHANNEL)).get(CHANNEL.encode(), 0) >= 1:
                break
            await asyncio.sleep(0.02)
        signup = await deleter.post(
            "/api/v1/auth/signup", json={"email": "gone@example.com", "password": PASSWORD}
        )
        assert signup.status_code == 201, signup.text
        headers = {"Authorization": f"Bearer {signup.json()['access_token']}"}
        poll = f"/api/v1/reading/{uuid.uuid4()}"
        # Both other processes have seen the user exist (a poll of no job of theirs: 404).
        for client in (listening, deaf):
            assert (await client.get(poll, headers=headers)).status_code == 404

        deleted = await deleter.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=headers)
        assert deleted.status_code == 204, deleted.text
        assert (await deleter.get(poll, headers=headers)).status_code == 401
        for _ in range(100):
            answer = await listening.get(poll, headers=headers)
            if answer.status_code == 401:
                break
            await asyncio.sleep(0.02)
        assert (answer.status_code, answer.json()["code"]) == (401, "invalid_token")
        # The process that was not listening still trusts its cache (its known-users time bounds it).
        assert (await deaf.get(poll, headers=headers)).status_code == 404
