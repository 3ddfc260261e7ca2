"""Submitting and polling as the routes do (``submit_job_now``, ``job_view_for_user``): the money
rules under concurrency, both submit paths sharing one ledger, a failed dispatch, and the
routes refusing a deleted user's token. What each store writes is in ``test_store_contract.py``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select

from conjure.app import create_app
from conjure.auth.deps import KnownUsers
from conjure.db import utcnow
from conjure.errors import NotFound
from conjure.jobs.coalesce import dispatch_soon
from conjure.jobs.models import Job, JobEvent
from conjure.jobs.service import (
    IdempotencyKeyReused,
    job_view_for_user,
    submit_job,
    submit_job_now,
)
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import User
from conjure.wallet.models import WalletTransaction
from conjure.wallet.service import InsufficientStars, check_consistency
from tests.factories import auth_headers, make_user

PAID = "t.paid"  # tests/jobs/kinds.py: costs one star
VIEW_FIELDS = [
    *("id", "user_id", "kind", "status", "progress", "result", "error_code", "last_error"),
    *("attempts", "max_attempts", "trace_id", "created_at", "started_at", "finished_at"),
]


ApiClient = tuple[Runtime, FastAPI, httpx.AsyncClient]


@dataclass
class State:
    user: User
    jobs: list[Job]
    events: list[JobEvent]
    ledger: list[WalletTransaction]

    @property
    def holds(self) -> list[WalletTransaction]:
        return [row for row in self.ledger if row.transaction_type == "hold"]


async def state(runtime: Runtime, user_id: uuid.UUID) -> State:
    async with runtime.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        jobs = list((await session.scalars(select(Job).where(Job.user_id == user_id))).all())
        events = list(
            (await session.scalars(select(JobEvent).where(JobEvent.job_id.in_([j.id for j in jobs])))).all()
        )
        ledger = select(WalletTransaction).where(WalletTransaction.user_id == user_id)
        rows = (await session.scalars(ledger.order_by(WalletTransaction.seq))).all()
        return State(user, jobs, events, list(rows))


async def problems(runtime: Runtime) -> list[str]:
    async with runtime.db.session() as session:
        return [str(problem) for problem in await check_consistency(session)]


async def submit_now(runtime: Runtime, user: User, payload: dict[str, Any], **kw: Any) -> Job:
    return await submit_job_now(runtime, user_id=user.id, kind=PAID, payload=payload, **kw)


async def test_too_few_stars_is_402_and_writes_nothing(engine: Runtime) -> None:
    user, broke = await make_user(engine, stars=1), await make_user(engine)
    await submit_now(engine, user, {"n": 1})  # holds the only star
    for who, payload in ((user, {"n": 2}), (broke, {"n": 1})):
        with pytest.raises(InsufficientStars) as caught:
            await submit_now(engine, who, payload)
        error = caught.value
        assert (error.status, error.code) == (402, "insufficient_stars")
        assert error.extra == {"required": 1, "available": 0}
    s, b = await state(engine, user.id), await state(engine, broke.id)
    assert (len(s.jobs), len(s.ledger), s.user.stars_held, s.user.ledger_seq) == (1, 2, 1, 2)
    assert (b.jobs, b.ledger, b.user.stars_held, b.user.ledger_seq) == ([], [], 0, 0)
    with pytest.raises(NotFound):
        await submit_job_now(engine, user_id=uuid.uuid4(), kind=PAID, payload={"n": 1})
    assert await problems(engine) == []


async def test_duplicates_in_flight_return_the_same_job(engine: Runtime) -> None:
    user = await make_user(engine, stars=2)
    first = await submit_now(engine, user, {"q": "P"})
    assert (await submit_now(engine, user, {"q": "P"})).id == first.id
    # A fresh key on a payload already in flight is still that job (dedupe), as on the ORM path.
    assert (await submit_now(engine, user, {"q": "P"}, idempotency_key="other")).id == first.id
    keyed = await submit_now(engine, user, {"q": "Q"}, idempotency_key="key-1")
    assert keyed.id != first.id
    assert (await submit_now(engine, user, {"q": "Q"}, idempotency_key="key-1")).id == keyed.id
    with pytest.raises(IdempotencyKeyReused) as caught:
        await submit_now(engine, user, {"q": "R"}, idempotency_key="key-1")
    assert (caught.value.status, caught.value.code) == (409, "idempotency_key_reused")

    # No star left: duplicates still get their job back (not 402), a reused key still 409.
    assert (await submit_now(engine, user, {"q": "P"})).id == first.id, "in-flight duplicate got no job"
    assert (await submit_now(engine, user, {"q": "Q"}, idempotency_key="key-1")).id == keyed.id
    with pytest.raises(IdempotencyKeyReused):
        await submit_now(engine, user, {"q": "R"}, idempotency_key="key-1")
    with pytest.raises(InsufficientStars):
        await submit_now(engine, user, {"q": "S"})

    s = await state(engine, user.id)
    assert sorted(str(j.id) for j in s.jobs) == sorted([str(first.id), str(keyed.id)])
    assert sorted(str(h.related_job_id) for h in s.holds) == sorted([str(first.id), str(keyed.id)])
    assert (s.user.stars_held, s.user.ledger_seq) == (2, 3)
    assert await problems(engine) == []


def split(results: list[Any]) -> tuple[list[Job], list[InsufficientStars], list[BaseException]]:
    jobs = [r for r in results if isinstance(r, Job)]
    short = [r for r in results if isinstance(r, InsufficientStars)]
    other = [r for r in results if isinstance(r, BaseException) and not isinstance(r, InsufficientStars)]
    return jobs, short, other


async def test_concurrent_submits_never_overspend_on_postgres(pg_redis: Runtime) -> None:
    user = await make_user(pg_redis, stars=5)
    results = await asyncio.gather(
        *(submit_now(pg_redis, user, {"n": i}) for i in range(30)), return_exceptions=True
    )
    jobs, short, other = split(results)
    assert other == [], f"unexpected errors: {other!r}"
    assert (len(jobs), len(short)) == (5, 25)
    s = await state(pg_redis, user.id)
    assert (len(s.jobs), len(s.holds), s.user.stars_held, s.user.ledger_seq) == (5, 5, 5, 6)
    assert await problems(pg_redis) == []


async def test_concurrent_orm_submits_of_one_user_do_not_deadlock(pg_redis: Runtime) -> None:
    user = await make_user(pg_redis, stars=20)

    async def one(n: int) -> Job:
        async with pg_redis.db.session() as session:
            return await submit_job(session, pg_redis, user_id=user.id, kind=PAID, payload={"n": n})

    results = await asyncio.gather(*(one(n) for n in range(20)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == [], f"concurrent ORM submits failed (deadlock?): {failures!r}"
    s = await state(pg_redis, user.id)
    assert (len(s.jobs), s.user.stars_held, s.user.ledger_seq) == (20, 20, 21)
    assert await problems(pg_redis) == []


async def test_both_paths_at_once_share_one_ledger_on_postgres(pg_redis: Runtime) -> None:
    user = await make_user(pg_redis, stars=12)

    async def orm(n: int) -> Job:
        async with pg_redis.db.session() as session:
            return await submit_job(session, pg_redis, user_id=user.id, kind=PAID, payload={"orm": n})

    calls = [c for n in range(10) for c in (orm(n), submit_now(pg_redis, user, {"fast": n}))]
    jobs, short, other = split(await asyncio.gather(*calls, return_exceptions=True))
    assert other == [], f"unexpected errors: {other!r}"
    assert (len(jobs), len(short)) == (12, 8)
    s = await state(pg_redis, user.id)
    assert [row.seq for row in s.ledger] == list(range(1, 14))
    assert (s.user.stars_held, s.user.ledger_seq) == (12, 13)
    assert await problems(pg_redis) == []


async def test_a_failed_dispatch_still_accepts_the_committed_job(
    pg_redis: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis down after the commit: the job stays queued for the reconciler, the caller gets it."""
    user = await make_user(pg_redis, stars=1)

    async def broker_down(job_ids: list[uuid.UUID]) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(pg_redis.broker, "dispatch", broker_down)
    job = await submit_now(pg_redis, user, {"n": "redis down"})
    after = await state(pg_redis, user.id)
    assert [(j.id, j.status) for j in after.jobs] == [(job.id, "queued")]
    assert [h.related_job_id for h in after.holds] == [job.id]


async def test_submits_that_commit_together_share_one_dispatch(
    engine: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each submit returns once its job reached the broker; those in one loop turn share the call."""
    users = [await make_user(engine, stars=1) for _ in range(12)]
    calls: list[list[uuid.UUID]] = []
    dispatch = engine.broker.dispatch

    async def counted(job_ids: list[uuid.UUID], lanes: Any = None) -> None:
        calls.append(list(job_ids))
        await dispatch(job_ids, lanes)

    monkeypatch.setattr(engine.broker, "dispatch", counted)
    jobs = await asyncio.gather(*(submit_now(engine, user, {"n": i}) for i, user in enumerate(users)))
    dispatched = [job_id for call in calls for job_id in call]
    assert sorted(dispatched) == sorted(job.id for job in jobs)  # every job once, none lost
    alone = await submit_now(engine, await make_user(engine, stars=1), {"n": "alone"})
    assert calls[-1] == [alone.id]  # a lone submit is sent at once, on its own
    calls.clear()
    ids = [uuid.uuid4() for _ in range(5)]
    await asyncio.gather(*(dispatch_soon(engine.broker, job_id, None) for job_id in ids))
    assert calls == [ids]  # queued in one loop turn: one broker call, in order


async def test_status_reads_of_one_loop_turn_each_get_their_own_job(engine: Runtime) -> None:
    """Reads made together (one statement on PostgreSQL) still answer each caller alone."""
    users = [await make_user(engine, stars=1) for _ in range(4)]
    jobs = [await submit_now(engine, user, {"n": i}) for i, user in enumerate(users)]
    asks = [(job.id, user.id) for job, user in zip(jobs, users, strict=True)]
    asks += [(jobs[0].id, users[1].id), (uuid.uuid4(), users[2].id), (jobs[3].id, users[3].id)]
    answers = await asyncio.gather(
        *(job_view_for_user(engine, job_id, user_id) for job_id, user_id in asks), return_exceptions=True
    )
    for (job_id, user_id), answer in zip(asks, answers, strict=True):
        mine = any(job.id == job_id and job.user_id == user_id for job in jobs)
        if mine:
            assert not isinstance(answer, BaseException)
            assert (answer.id, answer.user_id, answer.status) == (job_id, user_id, "queued")
        else:  # another user's job, or none: 404, never someone else's row
            assert isinstance(answer, NotFound)


async def test_job_view_is_the_owners_own_job(engine: Runtime) -> None:
    owner, other = await make_user(engine, stars=1), await make_user(engine, stars=1)
    job = await submit_now(engine, owner, {"n": 1})
    async with engine.db.session() as session:  # as a worker leaves a finished job
        row = await session.get(Job, job.id)
        assert row is not None
        row.status, row.attempts, row.started_at, row.finished_at = "succeeded", 1, utcnow(), utcnow()
        row.result = {"ok": True, "cards": ["The Star", "The Moon"]}
        row.progress = {"step": "reading", "message": "reading…"}
    async with engine.db.session() as session:
        stored = await session.get(Job, job.id)
        assert stored is not None

    view = await job_view_for_user(engine, job.id, owner.id)
    for name in VIEW_FIELDS:
        assert getattr(view, name) == getattr(stored, name), f"view.{name} differs from the stored row"
    with pytest.raises(NotFound):
        await job_view_for_user(engine, job.id, other.id)
    with pytest.raises(NotFound):
        await job_view_for_user(engine, uuid.uuid4(), owner.id)


@pytest.fixture
async def app_client(
    make_settings: Callable[..., Settings], backend: dict[str, str]
) -> AsyncIterator[ApiClient]:
    runtime = await Runtime.start(make_settings(**backend))
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield runtime, app, client
    finally:
        await runtime.close()


async def delete_user(runtime: Runtime, user_id: uuid.UUID) -> None:
    async with runtime.db.session() as session:
        await session.execute(delete(User).where(User.id == user_id))


async def poll(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.get(f"/api/v1/reading/{uuid.uuid4()}", headers=headers)


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, f"deleted user's token accepted: {response.text}"
    assert response.json()["code"] == "invalid_token"


async def test_token_of_a_deleted_user_is_refused(app_client: ApiClient) -> None:
    runtime, _app, client = app_client
    user = await make_user(runtime, stars=1)
    headers = auth_headers(runtime, user)
    await delete_user(runtime, user.id)
    assert_unauthorized(await poll(client, headers))
    read = {"question": "Will the deleted user get a reading?"}
    assert_unauthorized(await client.post("/api/v1/tarot/read", json=read, headers=headers))


async def test_deleted_user_is_refused_once_the_cache_lets_go(app_client: ApiClient) -> None:
    runtime, app, client = app_client
    user = await make_user(runtime)
    headers = auth_headers(runtime, user)
    assert (await poll(client, headers)).status_code == 404  # signed in; no such reading
    await delete_user(runtime, user.id)
    # Within the cache's ttl the token still passes (the documented window) ...
    assert (await poll(client, headers)).status_code == 404
    app.state.known_users.forget(user.id)
    assert_unauthorized(await poll(client, headers))  # ... and not once the entry is gone.

    app.state.known_users = KnownUsers(ttl=0)  # every entry expires at once
    again = await make_user(runtime)
    headers = auth_headers(runtime, again)
    assert (await poll(client, headers)).status_code == 404
    await delete_user(runtime, again.id)
    assert_unauthorized(await poll(client, headers))
