"""The operator console's API: search, detail with free text redacted, retry and cancel anyone's job,
paused kinds, throughput over time, lookup by email; admins only."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from conjure.app import create_app
from conjure.jobs.models import Job, JobStatus
from conjure.runtime import Runtime
from conjure.users.models import User
from tests.factories import auth_headers, make_user
from tests.jobs.conftest import running, submit, wait_status
from tests.jobs.kinds import APP

QUESTION = "Will my sister forgive me for what I said at the wedding last summer?"


@pytest.fixture
async def api(engine: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=engine, apps=[APP])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def _balances(engine: Runtime, user: User) -> tuple[int, int]:
    async with engine.db.session() as session:
        owner = await session.get(User, user.id)
        assert owner is not None
        return owner.star_balance, owner.stars_held


async def test_every_console_route_is_for_admins_only(engine: Runtime, api: httpx.AsyncClient) -> None:
    user = await make_user(engine)
    job = await submit(engine, "t.noop", {}, user=user)
    headers = auth_headers(engine, user)
    for method, path in [
        ("GET", "/api/v1/admin/jobs/search"),
        ("GET", f"/api/v1/admin/jobs/{job.id}"),
        ("POST", f"/api/v1/admin/jobs/{job.id}/retry"),
        ("POST", f"/api/v1/admin/jobs/{job.id}/cancel"),
        ("GET", "/api/v1/admin/kinds"),
        ("POST", "/api/v1/admin/kinds/t.noop/pause"),
        ("GET", "/api/v1/admin/throughput"),
        ("GET", f"/api/v1/admin/users?email={user.email}"),
    ]:
        assert (await api.request(method, path, headers=headers)).status_code == 403, path
        assert (await api.request(method, path)).status_code == 401, path


async def test_search_filters_by_status_kind_email_time_and_id_prefix(
    engine: Runtime, api: httpx.AsyncClient
) -> None:
    alice = await make_user(engine, email="alice@example.com")
    bob = await make_user(engine, email="bob@example.com")
    admin = auth_headers(engine, await make_user(engine, admin=True))
    a1 = await submit(engine, "t.noop", {}, user=alice)
    a2 = await submit(engine, "t.sleepy", {"seconds": 0}, user=alice)
    b1 = await submit(engine, "t.noop", {}, user=bob)

    async def ids(query: str) -> set[str]:
        response = await api.get(f"/api/v1/admin/jobs/search?{query}", headers=admin)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return {row["id"] for row in body["items"]}

    assert await ids("") == {str(a1.id), str(a2.id), str(b1.id)}
    assert await ids("email=ALICE@example.com") == {str(a1.id), str(a2.id)}
    assert await ids("kind=t.noop") == {str(a1.id), str(b1.id)}
    assert await ids("kind=t.noop&email=bob@example.com") == {str(b1.id)}
    assert await ids(f"q={str(a2.id)[:8]}") == {str(a2.id)}
    assert await ids(f"q={a2.id}") == {str(a2.id)}
    assert await ids("status=succeeded") == set()
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert await ids(f"since={future.replace('+', '%2B')}") == set()
    assert await ids(f"until={future.replace('+', '%2B')}") == {str(a1.id), str(a2.id), str(b1.id)}
    page = (await api.get("/api/v1/admin/jobs/search?limit=2", headers=admin)).json()
    assert (len(page["items"]), page["total"]) == (2, 3)


async def test_detail_shows_attempts_and_events_but_not_the_persons_words(
    engine: Runtime, api: httpx.AsyncClient
) -> None:
    user = await make_user(engine, stars=2)
    admin = auth_headers(engine, await make_user(engine, admin=True))
    job = await submit(engine, "t.paid_fails", {"question": QUESTION, "spread": "three"}, user=user)
    async with running(engine):
        await wait_status(engine, job.id, JobStatus.DLQ)
    response = await api.get(f"/api/v1/admin/jobs/{job.id}", headers=admin)
    assert response.status_code == 200
    detail = response.json()
    assert QUESTION not in response.text
    assert detail["payload"] == {"question": f"[{len(QUESTION)} characters]", "spread": "three"}
    assert detail["email"] == user.email
    assert [a["number"] for a in detail["attempts_list"]] == [1, 2]
    assert all(a["success"] is False and a["error_code"] for a in detail["attempts_list"])
    assert detail["events"][0]["type"] == "queued"
    assert detail["events"][-1]["type"] == "dlq"
    assert detail["actions"] == ["retry"]
    missing = await api.get("/api/v1/admin/jobs/00000000-0000-4000-8000-000000000000", headers=admin)
    assert missing.status_code == 404


async def test_retry_runs_a_failed_job_again_with_its_price_held_once(
    engine: Runtime, api: httpx.AsyncClient
) -> None:
    user = await make_user(engine, stars=1)
    admin = auth_headers(engine, await make_user(engine, admin=True))
    job = await submit(engine, "t.paid_fails", {}, user=user)
    async with running(engine):
        await wait_status(engine, job.id, JobStatus.DLQ)
    assert await _balances(engine, user) == (1, 0)
    retried = await api.post(f"/api/v1/admin/jobs/{job.id}/retry", headers=admin)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "queued"
    assert await _balances(engine, user) == (1, 1)  # held again, once
    again = await api.post(f"/api/v1/admin/jobs/{job.id}/retry", headers=admin)
    assert again.status_code == 409
    assert again.json()["code"] == "job_not_retryable"
    assert await _balances(engine, user) == (1, 1)


async def test_cancel_anyones_queued_job_releases_its_hold(engine: Runtime, api: httpx.AsyncClient) -> None:
    user = await make_user(engine, stars=1)
    admin = auth_headers(engine, await make_user(engine, admin=True))
    job = await submit(engine, "t.paid", {}, user=user)
    assert await _balances(engine, user) == (1, 1)
    canceled = await api.post(f"/api/v1/admin/jobs/{job.id}/cancel", headers=admin)
    assert canceled.status_code == 200, canceled.text
    assert canceled.json() == {"id": str(job.id), "status": "canceled", "detail": "canceled"}
    assert await _balances(engine, user) == (1, 0)
    twice = await api.post(f"/api/v1/admin/jobs/{job.id}/cancel", headers=admin)
    assert (twice.status_code, twice.json()["code"]) == (409, "job_not_cancelable")
    # A canceled job can be run again (on the house, here: its owner's star is free again anyway).
    retried = await api.post(f"/api/v1/admin/jobs/{job.id}/retry?free=true", headers=admin)
    assert retried.json()["detail"] == "free"
    async with running(engine):
        done = await wait_status(engine, job.id, JobStatus.SUCCEEDED)
    assert done.cancel_requested is False
    assert await _balances(engine, user) == (1, 0)  # free: nothing captured


async def test_pause_and_resume_a_kind(engine: Runtime, api: httpx.AsyncClient) -> None:
    admin = auth_headers(engine, await make_user(engine, admin=True))
    await submit(engine, "t.noop", {}, user=await make_user(engine))
    paused = await api.post("/api/v1/admin/kinds/t.noop/pause", headers=admin)
    assert paused.status_code == 200
    row = next(k for k in paused.json() if k["kind"] == "t.noop")
    assert row["paused"] is True
    assert row["by_status"] == {"queued": 1}
    assert (
        await api.post("/api/v1/admin/kinds/t.noop/pause", headers=admin)
    ).status_code == 200  # idempotent
    assert (await api.post("/api/v1/admin/kinds/nope/pause", headers=admin)).status_code == 404
    resumed = (await api.post("/api/v1/admin/kinds/t.noop/resume", headers=admin)).json()
    assert next(k for k in resumed if k["kind"] == "t.noop")["paused"] is False


async def test_throughput_counts_jobs_in_their_buckets(engine: Runtime, api: httpx.AsyncClient) -> None:
    admin = auth_headers(engine, await make_user(engine, admin=True))
    user = await make_user(engine)
    done = [await submit(engine, "t.noop", {}, user=user) for _ in range(3)]
    async with running(engine):
        for job in done:
            await wait_status(engine, job.id, JobStatus.SUCCEEDED)
    await submit(engine, "t.noop", {}, user=user)  # still queued
    body = (await api.get("/api/v1/admin/throughput?minutes=15", headers=admin)).json()
    assert body["bucket_seconds"] == 60
    buckets = body["buckets"]
    assert 15 <= len(buckets) <= 16
    assert sum(b["submitted"] for b in buckets) == 4
    assert sum(b["succeeded"] for b in buckets) == 3
    assert sum(b["started"] for b in buckets) == 3
    assert buckets[-1]["queued_estimate"] == 1
    assert buckets[0]["queued_estimate"] == 0
    assert (await api.get("/api/v1/admin/throughput?minutes=5", headers=admin)).status_code == 422


async def test_lookup_by_email(engine: Runtime, api: httpx.AsyncClient) -> None:
    admin = auth_headers(engine, await make_user(engine, admin=True))
    user = await make_user(engine, email="carol@example.com", stars=4)
    job = await submit(engine, "t.noop", {}, user=user)
    found = (await api.get("/api/v1/admin/users?email=Carol@Example.com", headers=admin)).json()
    assert (found["id"], found["star_balance"]) == (str(user.id), 4)
    assert [j["id"] for j in found["jobs"]] == [str(job.id)]
    missing = await api.get("/api/v1/admin/users?email=nobody@example.com", headers=admin)
    assert missing.status_code == 404


async def test_time_filters_take_iso_date_times_only(engine: Runtime, api: httpx.AsyncClient) -> None:
    admin = auth_headers(engine, await make_user(engine, admin=True))
    await submit(engine, "t.noop", {}, user=await make_user(engine))
    for bad in ("0", "1700000000", "2026-11-29", "yesterday"):
        response = await api.get(f"/api/v1/admin/jobs/search?since={bad}", headers=admin)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error"), bad
    # No offset: read as UTC, not refused and not a 500.
    naive = await api.get("/api/v1/admin/jobs/search?since=2000-01-01T00:00:00", headers=admin)
    assert naive.json()["total"] == 1


async def test_a_paused_kind_waits_queued_and_runs_once_resumed(
    engine: Runtime, api: httpx.AsyncClient
) -> None:
    user = await make_user(engine, stars=1)
    admin = auth_headers(engine, await make_user(engine, admin=True))
    assert (await api.post("/api/v1/admin/kinds/t.paid/pause", headers=admin)).status_code == 200
    job = await submit(engine, "t.paid", {}, user=user)
    other = await submit(engine, "t.noop", {}, user=user)
    async with running(engine):
        await wait_status(engine, other.id, JobStatus.SUCCEEDED)  # the worker runs, just not t.paid
        await asyncio.sleep(0.5)
        async with engine.db.session() as session:
            still = await session.get(Job, job.id)
            assert still is not None
            assert (still.status, still.attempts) == (JobStatus.QUEUED, 0)
        assert await _balances(engine, user) == (1, 1)  # held, not charged, not failed
        assert (await api.post("/api/v1/admin/kinds/t.paid/resume", headers=admin)).status_code == 200
        await wait_status(engine, job.id, JobStatus.SUCCEEDED, timeout=10)
    assert await _balances(engine, user) == (0, 0)
