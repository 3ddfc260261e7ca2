"""Two real API processes sharing Redis: one cap per user across them, and a killed one leaks no slot."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from conjure.events.service import publish_user_event
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.events.conftest import SseReader
from tests.factories import auth_headers, make_user
from tests.processes import api_env, two_apis

EVENTS = "/api/v1/events"


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
        env = api_env(
            settings,
            database_url=sqlite_url,
            redis_url=redis_url,
            tmp_path=tmp_path,
            drop=("SSE_",),
            SSE_MAX_CONNECTIONS_PER_USER="2",
            SSE_LEASE_SECONDS="1.5",
        )
        seed = await publish_user_event(runtime.user_events, user.id, "job.succeeded", {"n": 0})
        assert seed is not None
        resume = {**headers, "Last-Event-ID": str(seed.id)}
        async with (
            two_apis(env, tmp_path) as (client, (first, _), (second, second_process)),
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
