"""HTTP contract of the jobs domain: status, SSE, cancel, 404 for others' jobs, admin controls."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conjure.app import create_app
from conjure.db import utcnow
from conjure.jobs.models import Job, JobStatus
from conjure.runtime import Runtime
from conjure.users.models import User
from tests.factories import auth_headers, make_user
from tests.jobs.conftest import running, submit, wait_status
from tests.jobs.kinds import APP


@pytest.fixture
async def api(engine: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=engine, apps=[APP])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


def parse_sse(body: str) -> list[dict[str, Any]]:
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            if name in ("id", "event", "data"):
                fields[name] = value.strip()
        if "data" in fields:
            events.append({"id": int(fields["id"]), "event": fields["event"], **json.loads(fields["data"])})
    return events


async def test_sse_follows_a_job_to_the_end_and_replays_after_last_event_id(
    engine: Runtime, api: httpx.AsyncClient
) -> None:
    user = await make_user(engine)
    headers = auth_headers(engine, user)
    job = await submit(engine, "t.steps", {"seconds": 0.05}, user=user)
    # Listen while the job is still queued, then start a worker.
    listening = asyncio.create_task(api.get(f"/api/v1/jobs/{job.id}/events", headers=headers, timeout=30))
    await asyncio.sleep(0.3)
    async with running(engine):
        response = await listening
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert [e["event"] for e in events] == [
        "queued",
        "processing",
        "progress",
        "progress",
        "progress",
        "succeeded",
    ]
    assert [e["id"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[-1]["status"] == "succeeded"

    replay = await api.get(f"/api/v1/jobs/{job.id}/events", headers={**headers, "Last-Event-ID": "4"})
    assert [e["id"] for e in parse_sse(replay.text)] == [5, 6]
    after_the_end = await api.get(f"/api/v1/jobs/{job.id}/events", headers={**headers, "Last-Event-ID": "6"})
    assert parse_sse(after_the_end.text) == []  # closes at once instead of waiting forever
    for absurd in ("9" * 30, "-5", "4.5"):  # out of range or not an integer: replay from the start or end
        reconnect = await api.get(
            f"/api/v1/jobs/{job.id}/events", headers={**headers, "Last-Event-ID": absurd}
        )
        assert reconnect.status_code == 200
        assert [e["id"] for e in parse_sse(reconnect.text)] in ([], [1, 2, 3, 4, 5, 6])


async def test_job_status_and_queue_position(engine: Runtime, api: httpx.AsyncClient) -> None:
    user = await make_user(engine)
    headers = auth_headers(engine, user)
    first = await submit(engine, "t.noop", {"n": 1}, user=user)
    second = await submit(engine, "t.noop", {"n": 2}, user=user)
    body = (await api.get(f"/api/v1/jobs/{second.id}", headers=headers)).json()
    assert body["status"] == "queued"
    assert body["queue_position"] == 2
    assert body["result"] is None
    async with running(engine):
        await wait_status(engine, first.id, JobStatus.SUCCEEDED)
        await wait_status(engine, second.id, JobStatus.SUCCEEDED)
    body = (await api.get(f"/api/v1/jobs/{second.id}", headers=headers)).json()
    assert body["status"] == "succeeded"
    assert body["result"] == {"ok": True, "n": 2}
    assert body["queue_position"] is None
    assert body["attempts"] == 1
    assert body["finished_at"] is not None


async def test_cancel_queued_job_releases_hold(engine: Runtime, api: httpx.AsyncClient) -> None:
    user = await make_user(engine, stars=1)
    headers = auth_headers(engine, user)
    job = await submit(engine, "t.paid", user=user)
    response = await api.post(f"/api/v1/jobs/{job.id}/cancel", headers=headers)
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert response.json()["error"]["code"] == "canceled"
    again = await api.post(f"/api/v1/jobs/{job.id}/cancel", headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "job_not_cancelable"
    wallet = (await api.get("/api/v1/user/wallet", headers=headers)).json()
    assert wallet["star_balance"] == 1
    assert wallet["stars_held"] == 0
    async with running(engine):  # a worker handed the stale entry leaves it alone
        await asyncio.sleep(0.3)
    assert (await api.get(f"/api/v1/jobs/{job.id}", headers=headers)).json()["status"] == "canceled"


async def test_another_users_job_is_404_on_every_route(engine: Runtime, api: httpx.AsyncClient) -> None:
    owner, other = await make_user(engine), await make_user(engine)
    job = await submit(engine, "t.noop", user=owner)
    headers = auth_headers(engine, other)
    for method, path in [
        ("GET", f"/api/v1/jobs/{job.id}"),
        ("GET", f"/api/v1/jobs/{job.id}/events"),
        ("POST", f"/api/v1/jobs/{job.id}/cancel"),
    ]:
        response = await api.request(method, path, headers=headers)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    assert (await api.get(f"/api/v1/jobs/{job.id}")).status_code == 401


async def test_admin_dlq_controls(engine: Runtime, api: httpx.AsyncClient) -> None:
    user = await make_user(engine, stars=5)
    admin = await make_user(engine, admin=True)
    admin_headers = auth_headers(engine, admin)
    assert (await api.get("/api/v1/admin/jobs/dlq", headers=auth_headers(engine, user))).status_code == 403
    first = await submit(engine, "t.paid_fails", {"n": 1}, user=user)
    second = await submit(engine, "t.paid_fails", {"n": 2}, user=user)
    async with running(engine):
        await wait_status(engine, first.id, JobStatus.DLQ)
        await wait_status(engine, second.id, JobStatus.DLQ)
    dlq = (await api.get("/api/v1/admin/jobs/dlq", headers=admin_headers)).json()
    assert {row["id"] for row in dlq["items"]} == {str(first.id), str(second.id)}
    assert (dlq["total"], dlq["limit"], dlq["offset"]) == (2, 20, 0)
    assert all("payload" not in row for row in dlq["items"])

    redriven = await api.post(f"/api/v1/admin/jobs/{first.id}/redrive", headers=admin_headers)
    assert redriven.json() == {"redriven": 1, "short_of_stars": [], "free": False}
    status = (await api.get(f"/api/v1/jobs/{first.id}", headers=auth_headers(engine, user))).json()
    assert status["status"] == "queued"
    assert status["attempts"] == 2  # attempt numbers continue after a re-drive
    missing = await api.post(f"/api/v1/admin/jobs/{first.id}/redrive", headers=admin_headers)
    assert missing.status_code == 404

    purged = await api.delete("/api/v1/admin/jobs/dlq", headers=admin_headers)
    assert purged.json() == {"purged": 1}
    listing = (await api.get("/api/v1/admin/jobs", headers=admin_headers)).json()
    assert listing["stats"]["by_status"]["queued"] == 1
    assert listing["stats"]["by_status"]["failed"] == 1
    assert listing["stats"]["by_status"]["dlq"] == 0
    assert set(listing["stats"]["broker"]) == {"ready", "pending", "delayed", "dead_letters"}
    none_left = await api.post("/api/v1/admin/jobs/dlq/redrive?free=true", headers=admin_headers)
    assert none_left.json() == {"redriven": 0, "short_of_stars": [], "free": True}


async def test_the_dlq_list_is_a_page_the_latest_arrival_first(
    engine: Runtime, api: httpx.AsyncClient
) -> None:
    # Like every list: the Page envelope, ?limit/&offset; ordered by arrival in the DLQ (not by
    # creation), equal arrival times in one stable order, and only DLQ jobs counted.
    headers = auth_headers(engine, await make_user(engine, admin=True))
    now = utcnow()
    ids = [uuid.uuid4() for _ in range(5)]
    arrived = [now - dt.timedelta(minutes=m) for m in (3, 1, 4, 2, 2)]  # the last two at once
    async with engine.db.session() as session:
        for n, job_id in enumerate(ids):
            created = now - dt.timedelta(hours=5 - n)
            session.add(_dead_job(job_id, created=created, arrived=arrived[n]))
        failed = _dead_job(uuid.uuid4(), created=now, arrived=now)
        failed.status = JobStatus.FAILED
        session.add(failed)
    tied = sorted([ids[3], ids[4]])
    latest_first = [str(i) for i in (ids[1], *tied, ids[0], ids[2])]

    url = "/api/v1/admin/jobs/dlq"
    first = (await api.get(f"{url}?limit=2", headers=headers)).json()
    assert [row["id"] for row in first["items"]] == latest_first[:2]
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    pages = [(await api.get(f"{url}?limit=2&offset={o}", headers=headers)).json() for o in (2, 4)]
    assert [row["id"] for page in pages for row in page["items"]] == latest_first[2:]
    assert [(page["total"], page["offset"]) for page in pages] == [(5, 2), (5, 4)]
    everything = (await api.get(url, headers=headers)).json()
    assert [row["id"] for row in everything["items"]] == latest_first
    assert (everything["total"], everything["limit"]) == (5, 20)
    for bad in ("limit=0", "limit=101", "offset=-1"):
        refused = await api.get(f"{url}?{bad}", headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error"), bad


def _dead_job(job_id: uuid.UUID, *, created: dt.datetime, arrived: dt.datetime) -> Job:
    return Job(
        id=job_id,
        kind="t.noop",
        status=JobStatus.DLQ,
        payload={},
        attempts=5,
        max_attempts=5,
        error_code="upstream_timeout",
        run_at=created,
        created_at=created,
        updated_at=arrived,
        finished_at=arrived,
    )


async def test_a_dead_lettered_job_tells_its_owner_it_is_final_and_free(
    engine: Runtime, api: httpx.AsyncClient
) -> None:
    user = await make_user(engine, stars=1)
    admin = await make_user(engine, admin=True)
    retrying = "No AI provider could answer the read step right now; retrying."
    job = await submit(engine, "t.paid_fails", {"message": retrying}, user=user)
    async with running(engine):
        await wait_status(engine, job.id, JobStatus.DLQ)
    view = (await api.get(f"/api/v1/jobs/{job.id}", headers=auth_headers(engine, user))).json()
    assert view["status"] == "dlq"
    assert view["error"]["code"] == "upstream_timeout"
    message = view["error"]["message"]
    assert "retrying" not in message
    assert "failed 2 times and was stopped" in message
    assert message.endswith("Nothing was charged.")
    async with engine.db.session() as session:
        owner = await session.get(User, user.id)
        assert owner is not None
        assert (owner.star_balance, owner.stars_held) == (1, 0)  # true: the hold was released
    # Operators still see what the last attempt said.
    dlq = (await api.get("/api/v1/admin/jobs/dlq", headers=auth_headers(engine, admin))).json()
    assert [row["last_error"] for row in dlq["items"]] == [retrying]


async def test_ready_warns_about_redis_durability(engine: Runtime, api: httpx.AsyncClient) -> None:
    body = (await api.get("/ready")).json()
    assert body["checks"]["broker"] == "ok"
    if engine.redis is None:
        assert body["warnings"] == []
    else:  # the test Redis runs without appendonly
        assert any("appendonly" in warning for warning in body["warnings"])
