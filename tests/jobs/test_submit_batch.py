"""Submits that reach the store in one event-loop turn (one statement on PostgreSQL:
``jobs/store/pgsubmit.py``) each get the outcome they would have had alone: accepted, refused for
too few stars, a duplicate's or a replayed Idempotency-Key's job, 409, 404; one submit's error
never fails or changes another's; the ledger stays whole. SQLite submits one by one (the
many-users case runs on both backends)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select

from conjure.errors import NotFound
from conjure.jobs.models import JOB_COLUMNS, Job, JobEvent
from conjure.jobs.service import IdempotencyKeyReused, submit_job_now
from conjure.jobs.store import pgsubmit
from conjure.runtime import Runtime
from conjure.users.models import User
from conjure.wallet.models import WalletTransaction
from conjure.wallet.service import InsufficientStars
from tests.factories import make_user
from tests.jobs.test_submit import problems, state

PAID, FREE = "t.paid", "t.noop"  # tests/jobs/kinds.py: one star; free


def submit(runtime: Runtime, user_id: uuid.UUID, payload: dict[str, Any], **kw: Any) -> Any:
    return submit_job_now(runtime, user_id=user_id, kind=kw.pop("kind", PAID), payload=payload, **kw)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The PostgreSQL submit statements run: ("many" | "one", rows)."""
    seen: list[tuple[str, int]] = []
    run = pgsubmit._Submits._run

    async def counted(self: pgsubmit._Submits, sql: str, args: Any) -> list[Any]:
        many = sql is pgsubmit.SUBMIT_MANY
        seen.append(("many", len(args[0])) if many else ("one", 1))
        return await run(self, sql, args)

    monkeypatch.setattr(pgsubmit._Submits, "_run", counted)
    return seen


async def together(calls: list[Coroutine[Any, Any, Job]]) -> list[Job | BaseException]:
    """Start every call in the same loop turn; each one's job or error, in order."""
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def test_one_loop_turn_of_mixed_submits_gets_each_its_own_outcome(
    pg_redis: Runtime, statements: list[tuple[str, int]]
) -> None:
    engine = pg_redis
    rich, broke, short = [await make_user(engine, stars=n) for n in (10, 0, 2)]
    twice, after_dup, free_after = [await make_user(engine, stars=n) for n in (1, 2, 0)]
    keyed = await make_user(engine, stars=5)
    older = await submit(engine, after_dup.id, {"q": "x"})  # holds one of its two stars
    replayed = await submit(engine, keyed.id, {"q": "k1"}, idempotency_key="k1")
    statements.clear()

    results = await together(
        [
            *(submit(engine, rich.id, {"n": n}) for n in range(3)),  # 0-2: all accepted
            submit(engine, broke.id, {"n": 0}),  # 3: 402, available 0
            *(submit(engine, short.id, {"n": n}) for n in range(4)),  # 4-7: two accepted, two 402
            submit(engine, twice.id, {"q": "same"}),  # 8: accepted
            submit(engine, twice.id, {"q": "same"}),  # 9: the same job (in-batch duplicate)
            submit(engine, twice.id, {"q": "other"}),  # 10: 402, its one star is held by 8
            submit(engine, after_dup.id, {"q": "x"}),  # 11: the older job (duplicate in flight)
            submit(engine, after_dup.id, {"q": "y"}),  # 12: accepted with the star 11 did not take
            submit(engine, free_after.id, {"q": "paid"}),  # 13: 402
            submit(engine, free_after.id, {"q": "free"}, kind=FREE),  # 14: a free kind is accepted
            submit(engine, keyed.id, {"q": "k1"}, idempotency_key="k1"),  # 15: replay of `replayed`
            submit(engine, keyed.id, {"q": "k1 changed"}, idempotency_key="k1"),  # 16: 409
            submit(engine, keyed.id, {"q": "k2"}, idempotency_key="k2"),  # 17: accepted
            submit(engine, keyed.id, {"q": "k2"}, idempotency_key="k2"),  # 18: the same job as 17
            submit(engine, uuid.uuid4(), {"n": 0}),  # 19: 404, no such user
        ]
    )

    def job(i: int) -> Job:
        result = results[i]
        assert isinstance(result, Job), f"submit {i}: {result!r}"
        return result

    def short_of(i: int) -> int:
        result = results[i]
        assert isinstance(result, InsufficientStars), f"submit {i}: {result!r}"
        return int(result.extra["available"])

    accepted = [0, 1, 2, 4, 5, 8, 12, 14, 17]
    assert len({job(i).id for i in accepted}) == len(accepted)
    assert [short_of(i) for i in (3, 6, 7, 10, 13)] == [0, 0, 0, 0, 0]
    assert job(9).id == job(8).id
    assert job(11).id == older.id
    assert job(15).id == replayed.id
    assert isinstance(results[16], IdempotencyKeyReused)
    assert job(18).id == job(17).id
    assert isinstance(results[19], NotFound)

    # Holds, ledger and queued events as if each had run alone: seq 1 is each user's grant.
    for user, jobs, held in (
        (rich, 3, 3),
        (broke, 0, 0),
        (short, 2, 2),
        (twice, 1, 1),
        (after_dup, 2, 2),
        (free_after, 1, 0),
        (keyed, 2, 2),
    ):
        s = await state(engine, user.id)
        assert (len(s.jobs), len(s.holds), s.user.stars_held) == (jobs, held, held), user.email
        assert [row.seq for row in s.ledger] == list(range(1, s.user.ledger_seq + 1))
        assert sorted((e.job_id, e.seq, e.type) for e in s.events) == sorted(
            (j.id, 1, "queued") for j in s.jobs
        )
    assert await problems(engine) == []
    # One statement for the batch; 12 and 14 (refused there for a star 11 and 13 did not take) alone.
    assert statements == [("many", 20), ("one", 1), ("one", 1)]


async def test_submits_of_many_users_in_one_turn_are_one_statement(
    engine: Runtime, statements: list[tuple[str, int]]
) -> None:
    users = [await make_user(engine, stars=1) for _ in range(30)]
    statements.clear()
    jobs = await together([submit(engine, user.id, {"n": i}) for i, user in enumerate(users)])
    assert all(isinstance(job, Job) for job in jobs), jobs
    if engine.db.is_sqlite:
        assert statements == []
    else:
        assert statements == [("many", 30)]
    async with engine.db.session() as session:
        held = await session.scalar(
            select(func.sum(User.stars_held)).where(User.id.in_([u.id for u in users]))
        )
        holds = await session.scalar(
            select(func.count()).where(
                WalletTransaction.transaction_type == "hold",
                WalletTransaction.related_job_id.in_([j.id for j in jobs if isinstance(j, Job)]),
            )
        )
    assert (held, holds) == (30, 30)
    assert await problems(engine) == []


async def test_the_job_a_submit_returns_is_the_row_it_wrote(engine: Runtime) -> None:
    user = await make_user(engine, stars=1)
    job = await submit(engine, user.id, {"q": "returned"}, idempotency_key="ret-1")
    async with engine.db.session() as session:
        stored = await session.get(Job, job.id)
        assert stored is not None
    for name in JOB_COLUMNS:
        mine, theirs = getattr(job, name), getattr(stored, name)
        if name in ("created_at", "updated_at", "run_at"):  # SQLite keeps microseconds too
            assert abs((mine - theirs).total_seconds()) < 0.001, name
        else:
            assert mine == theirs, f"{name}: returned {mine!r}, stored {theirs!r}"


async def test_a_row_the_database_refuses_fails_alone(
    pg_redis: Runtime, statements: list[tuple[str, int]]
) -> None:
    """A value a column refuses (a trace id over 64 characters) fails its own submit only."""
    engine = pg_redis
    users = [await make_user(engine, stars=1) for _ in range(4)]
    statements.clear()
    results = await together(
        [
            submit(engine, user.id, {"n": i}, trace_id=("x" * 65 if i == 2 else None))
            for i, user in enumerate(users)
        ]
    )
    assert isinstance(results[2], asyncpg.StringDataRightTruncationError)
    assert all(isinstance(results[i], Job) for i in (0, 1, 3)), results
    assert statements == [("many", 4), ("one", 1), ("one", 1), ("one", 1), ("one", 1)]
    s = await state(engine, users[2].id)
    assert (s.jobs, s.user.stars_held) == ([], 0)
    async with engine.db.session() as session:
        events = await session.scalar(
            select(func.count()).where(JobEvent.job_id.in_([r.id for r in results if isinstance(r, Job)]))
        )
    assert events == 3
    assert await problems(engine) == []


async def test_submits_wait_for_a_statement_to_end_beyond_two_under_way(
    pg_redis: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two statements under way, later submits queue and go together as the next one."""
    users = [await make_user(pg_redis, stars=1) for _ in range(5)]
    seen: list[int] = []
    release = asyncio.Event()
    run = pgsubmit._Submits._run

    async def held(self: pgsubmit._Submits, sql: str, args: Any) -> list[Any]:
        seen.append(len(args[0]) if sql is pgsubmit.SUBMIT_MANY else 1)
        await release.wait()
        return await run(self, sql, args)

    monkeypatch.setattr(pgsubmit._Submits, "_run", held)
    tasks = []
    for i, user in enumerate(users):  # one submit per loop turn
        tasks.append(asyncio.create_task(submit(pg_redis, user.id, {"n": i})))
        for _ in range(5):
            await asyncio.sleep(0)
    assert seen == [1, 1]  # two under way, three waiting
    release.set()
    jobs = await asyncio.gather(*tasks)
    assert seen == [1, 1, 3]
    assert len({job.id for job in jobs}) == 5
    assert await problems(pg_redis) == []


async def test_a_caller_that_goes_away_does_not_change_the_others(
    pg_redis: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [await make_user(pg_redis, stars=1) for _ in range(3)]
    release = asyncio.Event()
    run = pgsubmit._Submits._run

    async def held(self: pgsubmit._Submits, sql: str, args: Any) -> list[Any]:
        await release.wait()
        return await run(self, sql, args)

    monkeypatch.setattr(pgsubmit._Submits, "_run", held)
    tasks = [asyncio.create_task(submit(pg_redis, user.id, {"n": i})) for i, user in enumerate(users)]
    for _ in range(5):
        await asyncio.sleep(0)
    tasks[1].cancel()
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[1], asyncio.CancelledError)
    assert all(isinstance(results[i], Job) for i in (0, 2)), results
    # The statement ran for all three: the cancelled caller's job is committed and held too (not
    # dispatched: the reconciler does that for a queued job no worker took, as after any cut-off).
    assert [len((await state(pg_redis, user.id)).holds) for user in users] == [1, 1, 1]
    assert await problems(pg_redis) == []


async def test_a_turn_past_the_row_bound_goes_as_several_statements(
    pg_redis: Runtime, statements: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pgsubmit, "MAX_ROWS", 2)
    users = [await make_user(pg_redis, stars=1) for _ in range(5)]
    statements.clear()
    jobs = await together([submit(pg_redis, user.id, {"n": i}) for i, user in enumerate(users)])
    assert all(isinstance(job, Job) for job in jobs), jobs
    assert statements == [("many", 2), ("many", 2), ("one", 1)]
    assert await problems(pg_redis) == []
