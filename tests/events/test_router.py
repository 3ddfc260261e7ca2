"""HTTP contract of GET /api/v1/events over a real socket: replay, live events, heartbeats, the cap."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from redis import exceptions as redis_errors

from conjure.auth.apikeys import create_api_key
from conjure.events.service import publish_user_event
from conjure.events.types import EventId, Subscription
from conjure.runtime import Runtime
from conjure.users.models import User
from tests.events.conftest import MakeRuntime, SseReader, serve
from tests.factories import auth_headers, make_user

EVENTS = "/api/v1/events"


@pytest.fixture
async def runtime(make_runtime: MakeRuntime, backend: dict[str, str]) -> Runtime:
    return await make_runtime(**backend, sse_max_connections_per_user=2, sse_heartbeat_seconds=0.3)


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(runtime) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        yield client


async def publish(runtime: Runtime, user: User, type_: str, **data: object) -> EventId:
    event = await publish_user_event(runtime.user_events, user.id, type_, dict(data))
    assert event is not None
    return event.id


async def wait_held(runtime: Runtime, user: User, count: int) -> None:
    for _ in range(200):
        if await runtime.sse_slots.held(user.id) == count:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{await runtime.sse_slots.held(user.id)} slots held, expected {count}")


async def test_replays_what_was_missed_then_follows_live_events(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    user, other = await make_user(runtime), await make_user(runtime)
    seen = await publish(runtime, user, "job.succeeded", job_id="j1")
    await publish(runtime, user, "image.ready", image_id="i1")
    await publish(runtime, other, "image.ready", image_id="not-yours")
    headers = {**auth_headers(runtime, user), "Last-Event-ID": str(seen)}
    async with api.stream("GET", EVENTS, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = SseReader(response)
        missed = await reader.message()
        await publish(runtime, other, "message.delta", delta="not yours either")
        live_id = await publish(runtime, user, "message.delta", conversation_id="c1", delta="Hel")
        live = await reader.message()
    assert missed["event"] == "image.ready"
    assert json.loads(missed["data"]) == {"image_id": "i1"}
    assert EventId.parse(missed["id"]) is not None
    assert EventId.parse(missed["id"]) > seen  # type: ignore[operator]
    assert live == {
        "id": str(live_id),
        "event": "message.delta",
        "data": '{"conversation_id":"c1","delta":"Hel"}',
    }
    await wait_held(runtime, user, 0)  # the closed stream gave its slot back


async def test_an_event_sent_once_the_headers_arrive_is_not_missed_by_a_slow_subscription(
    runtime: Runtime, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without Last-Event-ID the stream starts "now", as of the request: a loaded server that
    subscribes only a moment after sending the headers still delivers what happened meanwhile."""
    user = await make_user(runtime)
    await publish(runtime, user, "job.succeeded", n=0)  # the past: not replayed
    subscribe = runtime.user_events.subscribe

    @asynccontextmanager
    async def slow_subscribe(user_id: uuid.UUID, after: EventId | None) -> AsyncIterator[Subscription]:
        await asyncio.sleep(0.3)
        async with subscribe(user_id, after) as subscription:
            yield subscription

    monkeypatch.setattr(runtime.user_events, "subscribe", slow_subscribe)
    async with api.stream("GET", EVENTS, headers=auth_headers(runtime, user)) as response:
        assert response.status_code == 200
        await publish(runtime, user, "message.completed", n=1)  # sent as soon as the stream is open
        got = await SseReader(response).message()
    assert json.loads(got["data"]) == {"n": 1}


async def test_a_fresh_stream_names_where_it_starts_and_a_drop_before_any_event_resumes_there(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    user = await make_user(runtime)
    newest = await publish(runtime, user, "job.succeeded", n=0)
    headers = auth_headers(runtime, user)
    async with api.stream("GET", EVENTS, headers=headers) as response:
        reader = SseReader(response)
        with pytest.raises(TimeoutError):
            await reader.message(timeout=0.5)  # nothing has happened since it opened ...
        assert reader.last_id == str(newest)  # ... and it said where it starts
    await publish(runtime, user, "message.completed", n=1)  # while the client was away
    resumed = {**headers, "Last-Event-ID": reader.last_id}
    async with api.stream("GET", EVENTS, headers=resumed) as response:
        assert json.loads((await SseReader(response).message())["data"]) == {"n": 1}


async def test_query_parameter_resumes_and_the_header_wins(runtime: Runtime, api: httpx.AsyncClient) -> None:
    user = await make_user(runtime)
    first = await publish(runtime, user, "job.succeeded", n=1)
    second = await publish(runtime, user, "job.succeeded", n=2)
    await publish(runtime, user, "job.succeeded", n=3)
    headers = auth_headers(runtime, user)
    async with api.stream("GET", EVENTS, params={"last_event_id": str(first)}, headers=headers) as response:
        assert json.loads((await SseReader(response).message())["data"]) == {"n": 2}
    # A browser reconnects to the same URL (old query) with a newer Last-Event-ID header.
    resumed = {**headers, "Last-Event-ID": str(second)}
    async with api.stream("GET", EVENTS, params={"last_event_id": str(first)}, headers=resumed) as response:
        assert json.loads((await SseReader(response).message())["data"]) == {"n": 3}


async def test_heartbeats_keep_an_idle_stream_open(runtime: Runtime, api: httpx.AsyncClient) -> None:
    user = await make_user(runtime)
    async with api.stream("GET", EVENTS, headers=auth_headers(runtime, user)) as response:
        reader = SseReader(response)
        assert (await reader.comment(timeout=3)).startswith(":")
        assert (await reader.comment(timeout=3)).startswith(":")


async def test_an_api_key_opens_the_stream_too(runtime: Runtime, api: httpx.AsyncClient) -> None:
    user = await make_user(runtime)
    async with runtime.db.session() as session:
        _, key = await create_api_key(session, user, name="events")
    start = await publish(runtime, user, "job.failed", n=0)
    await publish(runtime, user, "job.failed", n=1)
    headers = {"Authorization": f"Bearer {key}", "Last-Event-ID": str(start)}
    async with api.stream("GET", EVENTS, headers=headers) as response:
        assert response.status_code == 200
        assert json.loads((await SseReader(response).message())["data"]) == {"n": 1}


async def test_no_credential_is_401_and_a_bad_last_event_id_is_422(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    anonymous = await api.get(EVENTS)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    user = await make_user(runtime)
    bad = await api.get(EVENTS, headers={**auth_headers(runtime, user), "Last-Event-ID": "yesterday"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_last_event_id"
    await wait_held(runtime, user, 0)  # a refused request keeps no slot


async def test_streams_beyond_the_cap_get_429_until_one_closes(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    user, other = await make_user(runtime), await make_user(runtime)
    headers = auth_headers(runtime, user)
    async with (
        api.stream("GET", EVENTS, headers=headers) as one,
        api.stream("GET", EVENTS, headers=headers) as two,
    ):
        assert (one.status_code, two.status_code) == (200, 200)
        refused = await api.get(EVENTS, headers=headers)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "too_many_streams"
        assert int(refused.headers["retry-after"]) >= 1
        # The same cap covers a job's stream (it is refused before the job is even looked up) ...
        job_stream = await api.get(f"/api/v1/jobs/{uuid.uuid4()}/events", headers=headers)
        assert job_stream.status_code == 429
        # ... and it is per user.
        async with api.stream("GET", EVENTS, headers=auth_headers(runtime, other)) as theirs:
            assert theirs.status_code == 200
    await wait_held(runtime, user, 0)
    async with api.stream("GET", EVENTS, headers=headers) as again:
        assert again.status_code == 200
    # A job stream frees its slot too (here it ends at once with 404).
    missing = await api.get(f"/api/v1/jobs/{uuid.uuid4()}/events", headers=headers)
    assert missing.status_code == 404
    await wait_held(runtime, user, 0)


async def test_a_client_that_vanishes_mid_stream_frees_its_slot(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    user = await make_user(runtime)
    headers = auth_headers(runtime, user)
    for _ in range(3):  # more rounds than the cap: each closed stream must give its slot back
        async with (
            api.stream("GET", EVENTS, headers=headers) as first,
            api.stream("GET", EVENTS, headers=headers),
        ):
            assert first.status_code == 200
            await wait_held(runtime, user, 2)
        await wait_held(runtime, user, 0)


class UnreachableSlots:
    """Connection slots whose Redis is down."""

    limit = 2

    async def acquire(self, user_id: uuid.UUID) -> str | None:
        raise redis_errors.ConnectionError("Connection refused")

    async def release(self, user_id: uuid.UUID, lease: str) -> None:
        raise AssertionError("nothing was acquired")

    async def held(self, user_id: uuid.UUID) -> int:
        return 0

    async def close(self) -> None:
        return None


async def test_redis_down_is_503_with_retry_after_not_500(make_runtime: MakeRuntime, sqlite_url: str) -> None:
    runtime = await make_runtime(database_url=sqlite_url)
    runtime.sse_slots = UnreachableSlots()
    user = await make_user(runtime)
    async with serve(runtime) as base, httpx.AsyncClient(base_url=base, timeout=10) as api:
        response = await api.get(EVENTS, headers=auth_headers(runtime, user))
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert int(response.headers["retry-after"]) >= 1


async def test_redis_down_as_the_stream_starts_is_503_too(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(user_id: uuid.UUID) -> EventId:
        raise redis_errors.ConnectionError("Connection refused")

    monkeypatch.setattr(runtime.user_events, "top", unreachable)
    user = await make_user(runtime)
    async with serve(runtime) as base, httpx.AsyncClient(base_url=base, timeout=10) as api:
        response = await api.get(EVENTS, headers=auth_headers(runtime, user))
        await wait_held(runtime, user, 0)  # the refused stream gave its slot back
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
