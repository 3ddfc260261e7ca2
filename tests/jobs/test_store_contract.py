"""The job store contract: every transition, on both stores (SQLite and PostgreSQL + Redis).

Each test states what one transition must write (or refuse), with the values spelled out, so
either store drifting from the contract fails here. The PostgreSQL store does most of these in
one statement, the SQLite store through SQLAlchemy Core; the wallet's rules hold on both
(``conjure wallet check`` after every test that moves money).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from conjure.db import utcnow
from conjure.jobs.attempt import Claim, ClaimKey, Outcome, ProgressStep, progress_json
from conjure.jobs.models import JOB_COLUMNS, Job, JobAttempt, JobEvent
from conjure.jobs.runner import Runner
from conjure.jobs.scheduler import Scheduler
from conjure.jobs.service import IdempotencyKeyReused, new_job_values, submit_job_now
from conjure.jobs.store.base import JobStore, Submitted
from conjure.jobs.store.pick import store_for
from conjure.jobs.types import Delivery
from conjure.runtime import Runtime
from conjure.users.models import User
from conjure.wallet.models import WalletTransaction
from conjure.wallet.service import InsufficientStars, check_consistency
from tests.factories import make_user
from tests.jobs.conftest import claim_all, load

PAID, FREE = "t.paid", "t.noop"  # tests/jobs/kinds.py: one star, free


def values_for(
    runtime: Runtime, user: User | None, kind: str = PAID, payload: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    """A new queued job's columns, as the services build them."""
    return new_job_values(
        runtime,
        runtime.registry.kinds[kind],
        user_id=user.id if user else None,
        payload=payload or {"nonce": uuid.uuid4().hex},
        idempotency_key=kw.pop("idempotency_key", None),
        trace_id=kw.pop("trace_id", None),
        prompt_version=kw.pop("prompt_version", None),
        **kw,
    )


async def jobs_of(runtime: Runtime, user: User) -> list[Job]:
    async with runtime.db.session() as session:
        return list((await session.scalars(select(Job).where(Job.user_id == user.id))).all())


async def events_of(runtime: Runtime, job_id: uuid.UUID) -> list[tuple[int, str, dict[str, Any]]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(JobEvent.seq, JobEvent.type, JobEvent.data)
            .where(JobEvent.job_id == job_id)
            .order_by(JobEvent.seq)
        )
        return [(seq, type_, data) for seq, type_, data in rows.all()]


async def ledger_of(runtime: Runtime, user: User) -> list[WalletTransaction]:
    async with runtime.db.session() as session:
        query = select(WalletTransaction).where(WalletTransaction.user_id == user.id)
        return list((await session.scalars(query.order_by(WalletTransaction.seq))).all())


async def wallet_of(runtime: Runtime, user: User) -> tuple[int, int, int]:
    """(star balance, stars held, ledger seq)."""
    async with runtime.db.session() as session:
        row = await session.get(User, user.id)
        assert row is not None
        return row.star_balance, row.stars_held, row.ledger_seq


async def problems(runtime: Runtime) -> list[str]:
    async with runtime.db.session() as session:
        return [str(problem) for problem in await check_consistency(session)]


def store(runtime: Runtime) -> JobStore:
    return store_for(runtime.db)


# --- insert_queued ------------------------------------------------------------------------


@pytest.mark.parametrize("own_transaction", [True, False], ids=["insert_queued", "insert_queued_in"])
async def test_insert_queued_writes_the_job_its_event_and_the_hold(
    engine: Runtime, own_transaction: bool
) -> None:
    user = await make_user(engine, stars=3)
    deadline = utcnow() + dt.timedelta(minutes=5)
    values = values_for(
        engine,
        user,
        idempotency_key="key-1",
        prompt_version="p-7",
        trace_id="trace-1",
        webhook_url="https://example.com/hook",
        start_deadline=deadline,
    )
    if own_transaction:
        assert await store(engine).insert_queued(values) == Submitted(available=3, inserted=True)
    else:
        async with engine.db.session() as session:
            assert await store(engine).insert_queued_in(session, values) is True

    [job] = await jobs_of(engine, user)
    stored = {name: getattr(job, name) for name in JOB_COLUMNS}
    expected = {name: values[name] for name in JOB_COLUMNS}
    assert stored == expected  # every column as given (webhook and deadline included)
    assert (job.status, job.price_stars, job.event_seq, job.webhook_url) == (
        "queued",
        1,
        1,
        "https://example.com/hook",
    )
    assert job.start_deadline == deadline
    assert await events_of(engine, job.id) == [(1, "queued", {"status": "queued"})]
    grant, hold = await ledger_of(engine, user)
    assert grant.transaction_type == "grant"
    assert (hold.seq, hold.transaction_type, hold.amount, hold.currency) == (2, "hold", 0, "star")
    assert (hold.balance_after, hold.held_change, hold.held_after) == (3, 1, 1)
    assert (hold.related_job_id, hold.idempotency_key, hold.flagged) == (job.id, f"hold:{job.id}", False)
    assert await wallet_of(engine, user) == (3, 1, 2)
    assert await problems(engine) == []


async def test_insert_queued_refuses_when_too_few_stars_and_writes_nothing(engine: Runtime) -> None:
    broke = await make_user(engine)
    assert await store(engine).insert_queued(values_for(engine, broke)) == Submitted(0, False)
    assert await jobs_of(engine, broke) == []
    assert await ledger_of(engine, broke) == []
    assert await wallet_of(engine, broke) == (0, 0, 0)
    with pytest.raises(InsufficientStars):
        async with engine.db.session() as session:
            await store(engine).insert_queued_in(session, values_for(engine, broke))
    assert await jobs_of(engine, broke) == []  # rolled back with the caller's transaction
    ghost = User(id=uuid.uuid4())
    assert await store(engine).insert_queued(values_for(engine, ghost)) == Submitted(None, False)
    assert await problems(engine) == []


async def test_insert_queued_dedupes_a_job_in_flight(engine: Runtime) -> None:
    user = await make_user(engine, stars=3)
    first = values_for(engine, user, payload={"q": "same"})
    again = values_for(engine, user, payload={"q": "same"})
    assert first["dedupe_key"] == again["dedupe_key"]
    assert (await store(engine).insert_queued(first)).inserted
    assert await store(engine).insert_queued(again) == Submitted(available=2, inserted=False)
    async with engine.db.session() as session:
        assert (
            await store(engine).insert_queued_in(session, values_for(engine, user, payload={"q": "same"}))
            is False
        )
    assert [job.id for job in await jobs_of(engine, user)] == [first["id"]]
    assert await wallet_of(engine, user) == (3, 1, 2)  # one hold only
    # Through the service, the duplicate gets the first job back.
    job = await submit_job_now(engine, user_id=user.id, kind=PAID, payload={"q": "same"})
    assert job.id == first["id"]


async def test_an_idempotency_key_replays_and_409s_on_another_request(engine: Runtime) -> None:
    user = await make_user(engine, stars=1)
    submit = submit_job_now
    keyed = await submit(engine, user_id=user.id, kind=PAID, payload={"q": 1}, idempotency_key="k")
    replay = await submit(engine, user_id=user.id, kind=PAID, payload={"q": 1}, idempotency_key="k")
    assert replay.id == keyed.id  # no star left, yet the replay gets its job (not 402)
    assert await store(engine).insert_queued(
        values_for(engine, user, payload={"q": 1}, idempotency_key="k")
    ) == (Submitted(available=0, inserted=False))
    with pytest.raises(IdempotencyKeyReused) as caught:
        await submit(engine, user_id=user.id, kind=PAID, payload={"q": 2}, idempotency_key="k")
    assert (caught.value.status, caught.value.code) == (409, "idempotency_key_reused")
    with pytest.raises(InsufficientStars) as short:
        await submit(engine, user_id=user.id, kind=PAID, payload={"q": 3})
    assert short.value.extra == {"required": 1, "available": 0}
    assert [job.id for job in await jobs_of(engine, user)] == [keyed.id]
    assert await wallet_of(engine, user) == (1, 1, 2)
    assert await problems(engine) == []


# --- view -----------------------------------------------------------------------------------


async def test_view_is_the_owners_job_only(engine: Runtime) -> None:
    owner, other = await make_user(engine, stars=1), await make_user(engine)
    values = values_for(engine, owner)
    await store(engine).insert_queued(values)
    async with engine.db.session() as session:  # as a worker leaves a finished job
        row = await session.get(Job, values["id"])
        assert row is not None
        row.status, row.attempts, row.started_at, row.finished_at = "succeeded", 1, utcnow(), utcnow()
        row.result, row.progress = {"cards": ["The Star"]}, {"step": "reading"}
    stored = await load(engine, values["id"])
    view = await store(engine).view(values["id"], owner.id)
    assert view is not None
    for name in view.__slots__:
        assert getattr(view, name) == getattr(stored, name), f"view.{name} differs from the stored row"
    assert (view.status, view.result) == ("succeeded", {"cards": ["The Star"]})
    assert await store(engine).view(values["id"], other.id) is None
    assert await store(engine).view(uuid.uuid4(), owner.id) is None


# --- claim ----------------------------------------------------------------------------------


async def claim(runtime: Runtime, job_id: uuid.UUID, worker: str, **at: Any) -> list[Any]:
    now = at.get("now", utcnow())
    lease = now + dt.timedelta(seconds=30)
    return await store(runtime).claim([job_id], worker_id=worker, now=now, lease=lease)


async def test_claim_is_exclusive_and_opens_an_attempt(engine: Runtime) -> None:
    values = values_for(engine, None, FREE)
    async with engine.db.session() as session:
        await store(engine).insert_queued_in(session, values)
    results = await asyncio.gather(*(claim(engine, values["id"], f"w{i}") for i in range(4)))
    winners = [rows for rows in results if rows]
    assert len(winners) == 1, f"claimed {len(winners)} times"
    [row] = winners[0]
    assert (row.id, row.kind, row.attempts, row.event_seq, row.price_stars) == (values["id"], FREE, 1, 2, 0)
    job = await load(engine, values["id"])
    assert (job.status, job.attempts, job.event_seq) == ("processing", 1, 2)
    assert job.worker_id in {"w0", "w1", "w2", "w3"}
    assert job.lease_expires_at is not None
    assert job.started_at is not None
    assert (await events_of(engine, job.id))[1] == (2, "processing", {"status": "processing", "attempt": 1})
    async with engine.db.session() as session:
        attempts = (await session.scalars(select(JobAttempt).where(JobAttempt.job_id == job.id))).all()
    assert [(a.attempt_number, a.worker_id, a.finished_at) for a in attempts] == [(1, job.worker_id, None)]
    assert await claim(engine, values["id"], "late") == []  # held, lease not expired


async def test_claim_takes_an_expired_lease_and_closes_the_lost_attempt(engine: Runtime) -> None:
    values = values_for(engine, None, FREE)
    async with engine.db.session() as session:
        await store(engine).insert_queued_in(session, values)
    await claim(engine, values["id"], "dead")
    later = utcnow() + dt.timedelta(minutes=5)  # past the 30 s lease
    [row] = await claim(engine, values["id"], "rescuer", now=later)
    assert (row.attempts, row.event_seq) == (2, 3)
    async with engine.db.session() as session:
        query = (
            select(JobAttempt).where(JobAttempt.job_id == values["id"]).order_by(JobAttempt.attempt_number)
        )
        attempts = (await session.scalars(query)).all()
    assert [(a.worker_id, a.success, a.error_code) for a in attempts] == [
        ("dead", False, "lease_expired"),
        ("rescuer", None, None),
    ]


async def test_a_job_past_its_start_deadline_is_never_claimed_and_expires(engine: Runtime) -> None:
    user = await make_user(engine, stars=1)
    soon = utcnow() + dt.timedelta(milliseconds=200)
    job = await submit_job_now(
        engine, user_id=user.id, kind=PAID, payload={"n": 1}, start_deadline=soon, webhook_url=None
    )
    assert (await load(engine, job.id)).start_deadline == soon
    await asyncio.sleep(0.3)
    assert await claim(engine, job.id, "w") == []
    assert await Scheduler(engine).expire_deadlines() == 1
    ended = await load(engine, job.id)
    assert (ended.status, ended.error_code, ended.dedupe_key) == ("canceled", "deadline", None)
    assert [e[1] for e in await events_of(engine, job.id)] == ["queued", "canceled"]
    assert await wallet_of(engine, user) == (1, 0, 3)  # hold placed, then released
    assert await problems(engine) == []


# --- record_progress ------------------------------------------------------------------------


def step(claimed: Claim, name: str) -> ProgressStep:
    progress: dict[str, Any] = {"step": name, "message": None, "data": {}}
    data = {"status": "processing", **progress}
    return ProgressStep(claimed, progress, data, (progress_json(progress), progress_json(data)))


async def test_record_progress_bumps_the_event_seq_under_the_claim(engine: Runtime) -> None:
    values = values_for(engine, None, FREE)
    async with engine.db.session() as session:
        await store(engine).insert_queued_in(session, values)
    [claimed] = await claim_all(Runner(engine, "w"), [values["id"]])
    written = await store(engine).record_progress([step(claimed, "one")], worker_id="w", now=utcnow())
    assert written == {claimed.key: (3, False)}
    written = await store(engine).record_progress([step(claimed, "two")], worker_id="w", now=utcnow())
    assert written == {claimed.key: (4, False)}
    job = await load(engine, values["id"])
    assert (job.event_seq, job.progress) == (4, {"step": "two", "message": None, "data": {}})
    assert [e[:2] for e in await events_of(engine, job.id)][2:] == [(3, "progress"), (4, "progress")]
    # Another worker's write (a stale claim) changes nothing.
    assert await store(engine).record_progress([step(claimed, "x")], worker_id="zombie", now=utcnow()) == {}
    assert (await load(engine, values["id"])).event_seq == 4


# --- settle ---------------------------------------------------------------------------------


async def settle(
    runtime: Runtime, claimed: Claim, outcome: Outcome, worker: str = "w"
) -> dict[ClaimKey, int]:
    settler = Runner(runtime, "w").settler
    now = utcnow()
    settlement = settler.prepare(claimed, outcome, now)
    return await store(runtime).settle([settlement], worker_id=worker, now=now, effects=settler.effects)


async def paid_claim(runtime: Runtime, kind: str = PAID) -> tuple[User, Claim]:
    user = await make_user(runtime, stars=2)
    values = values_for(runtime, user, kind)
    assert (await store(runtime).insert_queued(values)).inserted
    [claimed] = await claim_all(Runner(runtime, "w"), [values["id"]])
    return user, claimed


async def test_settle_captures_the_hold_on_success(engine: Runtime) -> None:
    user, claimed = await paid_claim(engine)
    assert await settle(engine, claimed, Outcome("succeeded", result={"ok": 1})) == {claimed.key: 3}
    job = await load(engine, claimed.job_id)
    assert (job.status, job.result, job.dedupe_key, job.worker_id) == ("succeeded", {"ok": 1}, None, "w")
    assert job.finished_at is not None
    assert job.lease_expires_at is None
    assert (await events_of(engine, job.id))[-1] == (3, "succeeded", {"status": "succeeded", "attempt": 1})
    assert await wallet_of(engine, user) == (1, 0, 3)
    assert [(r.transaction_type, r.amount) for r in await ledger_of(engine, user)][-1] == ("capture", -1)
    async with engine.db.session() as session:
        attempt = await session.scalar(select(JobAttempt).where(JobAttempt.job_id == job.id))
    assert attempt is not None
    assert (attempt.success, attempt.finished_at is not None) == (True, True)
    assert await problems(engine) == []


async def test_settle_releases_the_hold_on_failure(engine: Runtime) -> None:
    user, claimed = await paid_claim(engine)
    outcome = Outcome("failed", code="bad_input", message="No.")
    assert await settle(engine, claimed, outcome) == {claimed.key: 3}
    job = await load(engine, claimed.job_id)
    assert (job.status, job.error_code, job.last_error, job.result) == ("failed", "bad_input", "No.", None)
    assert (await events_of(engine, job.id))[-1][2] == {"status": "failed", "attempt": 1, "code": "bad_input"}
    assert await wallet_of(engine, user) == (2, 0, 3)
    assert [(r.transaction_type, r.amount) for r in await ledger_of(engine, user)][-1] == ("release", 0)
    assert await problems(engine) == []


async def test_settle_a_retry_requeues_and_keeps_the_hold(engine: Runtime) -> None:
    user, claimed = await paid_claim(engine)
    assert await settle(engine, claimed, Outcome("retry", code="timeout", message="slow")) == {claimed.key: 3}
    job = await load(engine, claimed.job_id)
    assert (job.status, job.worker_id, job.error_code, job.finished_at) == ("queued", None, "timeout", None)
    assert job.dedupe_key is not None  # still in flight
    assert (await events_of(engine, job.id))[-1][1] == "retrying"
    assert await wallet_of(engine, user) == (2, 1, 2)


async def test_settle_with_a_stale_claim_is_a_no_op(engine: Runtime) -> None:
    user, claimed = await paid_claim(engine)
    assert await settle(engine, claimed, Outcome("succeeded", result={}), worker="zombie") == {}
    stale = Claim(
        delivery=Delivery(job_id=claimed.job_id, ref="9-0"),
        **{k: getattr(claimed, k) for k in ("kind", "user_id", "payload", "max_attempts", "price_stars")},
        attempt=claimed.attempt + 1,
        webhook_url=None,
        cancel_requested=False,
    )
    assert await settle(engine, stale, Outcome("succeeded", result={})) == {}
    job = await load(engine, claimed.job_id)
    assert (job.status, job.event_seq) == ("processing", 2)
    assert await wallet_of(engine, user) == (2, 1, 2)  # neither captured nor released
    assert await problems(engine) == []
