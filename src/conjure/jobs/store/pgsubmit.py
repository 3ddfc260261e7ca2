"""The PostgreSQL submit: the submits of one event-loop turn accepted by one statement.

Under load many submit requests reach their statement in the same loop turn. Each used to send
its own statement (one socket write and one reply to parse per submit, about a fifth of a submit's
API CPU: docs/bench.md); :func:`submit_soon` queues the job instead, and at the end of the turn
one ``SUBMIT_MANY`` statement accepts all of them on one pooled connection, as the worker's settle
writes a batch. At most :data:`MAX_IN_FLIGHT` statements are under way per database; submits that
arrive meanwhile go together as the next one once one ends (a lone submit goes at once). The
statement is its own transaction (autocommit), so every job of it is committed before any caller
returns (and dispatches, and answers 202).

Each row keeps the outcome it would have had alone. The payers are locked in id order; a payer's
rows are taken in arrival order, each only if what is available covers it and the payer's earlier
rows of the batch (so a batch never holds more than a payer has); ``ON CONFLICT DO NOTHING`` turns
an in-flight duplicate or a replayed ``Idempotency-Key`` into "not inserted", whether the winner is
an older job or an earlier row of the batch. Holds are written per row (ledger sequence numbers in
arrival order). Outcomes then read as if the rows had run one after the other in arrival order:

* inserted: accepted, held;
* not inserted, and what was available after the payer's *inserted* earlier rows covers it: a
  duplicate (the caller looks the winner up);
* not inserted and not covered: refused (402 with that figure) — unless an earlier row of the same
  payer was assumed to take stars it did not take (it was a duplicate or was refused): that row runs
  again on its own after the batch (``SUBMIT``), so a batch never refuses what alone was accepted.

A statement error that is no one row's fault (the connection, the pool) fails every row, as it would
have failed each of them; any other server error (a value a column refuses) sends every row of the
batch on its own, so only the row at fault fails. 40001/40P01 run the batch again as it was (same
job and ledger ids: nothing of it was written).
"""

from __future__ import annotations

import asyncio
import json
import uuid
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog

from conjure.dbfaults import is_retryable, is_unavailable, retry_transaction
from conjure.jobs.store.base import Submitted
from conjure.jobs.store.common import QUEUED_DATA
from conjure.wallet.statements import hold_ctes, holds_ctes, payer_cte, payers_cte

if TYPE_CHECKING:
    from conjure.db import Database

log = structlog.get_logger("conjure.jobs.store.pgsubmit")
# Statements under way at once per database; submits arriving meanwhile wait for one to end and go
# together as the next. Batches share payers (a busy user's row): beyond two, a statement would only
# wait in PostgreSQL for the row locks of the one before it, holding a pooled connection meanwhile,
# and the waits chain into the tail latency (docs/bench.md). Two let the next batch be sent and
# waiting while the one before commits.
MAX_IN_FLIGHT = 2
MAX_ROWS = 256  # rows per statement at most (a bound on its size; 64 clients send far fewer)

_JOB_COLUMNS = """id, user_id, kind, status, payload, dedupe_key, idempotency_key, request_hash,
        attempts, max_attempts, price_stars, prompt_version, schema_version, trace_id,
        webhook_url, start_deadline, run_at, cancel_requested, event_seq, created_at, updated_at,
        trace_context, priority, lane"""
_QUEUED_EVENT = f"'{json.dumps(QUEUED_DATA)}'::jsonb"

# One submit (a batch of one, and a row that runs again on its own). Lock the payer first (the
# wallet's payer CTE), insert the job only if the price is available, and only for an inserted
# job: its "queued" event and the wallet's hold with its ledger row. ON CONFLICT DO NOTHING covers
# a duplicate in flight (dedupe key) and a replayed Idempotency-Key; the caller looks the winner up.
SUBMIT = f"""
WITH {payer_cte(user="$1")}, job AS (
    INSERT INTO jobs ({_JOB_COLUMNS})
    SELECT $2, payer.id, $3, 'queued', $4::text::jsonb, $5, $6, $7,
           0, $8, $9, $10, '1', $11,
           $14, $15, $12, false, 1, $12, $12, $16, $17, $18
    FROM payer WHERE payer.available >= $9
    ON CONFLICT DO NOTHING
    RETURNING id
), queued AS (
    INSERT INTO job_events (job_id, seq, type, data, created_at)
    SELECT id, 1, 'queued', {_QUEUED_EVENT}, $12 FROM job
), {hold_ctes(user="$1", amount="$9", job_id="$2", ledger_id="$13", now="$12", when="job")}
SELECT (SELECT available FROM payer) AS available, (SELECT id FROM job) AS job_id
"""

# The submits of one loop turn: one array per column, one element per submit (``ord``: arrival).
# ``left_after``: the payer's available stars minus this row's price and its earlier rows' prices.
# Answers, per row: the payer's available stars before the batch (NULL: no such user), inserted.
SUBMIT_MANY = f"""
WITH input AS (
    SELECT * FROM unnest(
        $1::int[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
        $8::text[], $9::int[], $10::int[], $11::text[], $12::text[], $13::timestamptz[],
        $14::uuid[], $15::text[], $16::timestamptz[], $17::text[], $18::int[], $19::text[]
    ) AS i(ord, id, user_id, kind, payload, dedupe_key, idempotency_key, request_hash,
           max_attempts, price, prompt_version, trace_id, now, ledger_id, webhook_url,
           start_deadline, trace_context, priority, lane)
), {payers_cte(users="SELECT user_id FROM input")}, wanted AS (
    SELECT i.*, payer.available - sum(i.price) OVER (PARTITION BY i.user_id ORDER BY i.ord) AS left_after
    FROM input AS i JOIN payer ON payer.id = i.user_id
), job AS (
    INSERT INTO jobs ({_JOB_COLUMNS})
    SELECT id, user_id, kind, 'queued', payload::jsonb, dedupe_key, idempotency_key, request_hash,
           0, max_attempts, price, prompt_version, '1', trace_id,
           webhook_url, start_deadline, now, false, 1, now, now, trace_context, priority, lane
    FROM wanted WHERE left_after >= 0
    ORDER BY ord
    ON CONFLICT DO NOTHING
    RETURNING id, user_id, price_stars, created_at
), queued AS (
    INSERT INTO job_events (job_id, seq, type, data, created_at)
    SELECT id, 1, 'queued', {_QUEUED_EVENT}, created_at FROM job
), {
    holds_ctes(
        rows='''SELECT input.ord, job.id AS job_id, job.user_id, job.price_stars AS amount,
                       input.ledger_id, job.created_at AS now
                FROM job JOIN input ON input.id = job.id'''
    )
}
SELECT input.ord, payer.available, job.id IS NOT NULL AS inserted
FROM input LEFT JOIN payer ON payer.id = input.user_id LEFT JOIN job ON job.id = input.id
ORDER BY input.ord
"""


@dataclass(slots=True)
class _Pending:
    """One submit waiting for its batch: its job's columns, its hold's ledger id, its answer."""

    values: dict[str, Any]
    answer: asyncio.Future[Submitted]
    ledger_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def args(self) -> tuple[Any, ...]:
        """The row's values in ``SUBMIT``'s parameter order ($1 …$18)."""
        v = self.values
        return (
            *(v["user_id"], v["id"], v["kind"], json.dumps(v["payload"]), v["dedupe_key"]),
            *(v["idempotency_key"], v["request_hash"], v["max_attempts"], v["price_stars"]),
            *(v["prompt_version"], v["trace_id"], v["created_at"], self.ledger_id, v["webhook_url"]),
            *(v["start_deadline"], v["trace_context"], v["priority"], v["lane"]),
        )


# SUBMIT's parameters (0-based) in SUBMIT_MANY's order after ``ord``.
_MANY_ORDER = (1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17)


def _many_args(batch: list[_Pending]) -> list[list[Any]]:
    rows = [p.args() for p in batch]
    return [list(range(len(batch))), *([row[i] for row in rows] for i in _MANY_ORDER)]


def _answer(pending: _Pending, result: Submitted | BaseException) -> None:
    if pending.answer.done():
        return
    if isinstance(result, BaseException):
        pending.answer.set_exception(result)
    else:
        pending.answer.set_result(result)


class _Submits:
    """The submits queued on one database, and the statements under way for it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pending: list[_Pending] = []
        self.in_flight = 0
        self.scheduled = False

    def add(self, values: dict[str, Any]) -> asyncio.Future[Submitted]:
        pending = _Pending(values, asyncio.get_running_loop().create_future())
        self.pending.append(pending)
        self._schedule()
        return pending.answer

    def _schedule(self) -> None:
        if self.pending and not self.scheduled and self.in_flight < MAX_IN_FLIGHT:
            self.scheduled = True
            # After the callbacks already due this turn: the submits woken with this one join it.
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self.scheduled = False
        batch, self.pending = self.pending[:MAX_ROWS], self.pending[MAX_ROWS:]
        self.in_flight += 1
        task = asyncio.get_running_loop().create_task(self._send(batch))
        _SENDING.add(task)
        task.add_done_callback(self._sent)
        self._schedule()  # rows past MAX_ROWS go as the next statement if one may start

    def _sent(self, task: asyncio.Task[None]) -> None:
        _SENDING.discard(task)
        self.in_flight -= 1
        self._schedule()  # what queued up meanwhile goes now, as one statement

    async def _send(self, batch: list[_Pending]) -> None:
        try:
            if len(batch) == 1:
                _answer(batch[0], await self._one(batch[0]))
            else:
                await self._many(batch)
        except BaseException as exc:  # every row not answered yet gets it (a cancel included)
            for pending in batch:
                _answer(pending, exc)
            if not isinstance(exc, Exception):
                raise

    async def _run(self, sql: str, args: tuple[Any, ...] | list[Any]) -> list[Any]:
        async def run() -> list[Any]:
            async with self.db.driver_connection() as conn:
                rows: list[Any] = await conn.fetch(sql, *args)
            return rows

        return await retry_transaction(run, what="submit")

    async def _one(self, pending: _Pending) -> Submitted:
        [row] = await self._run(SUBMIT, pending.args())
        return Submitted(row["available"], row["job_id"] is not None)

    async def _many(self, batch: list[_Pending]) -> None:
        try:
            rows = await self._run(SUBMIT_MANY, _many_args(batch))
        except asyncpg.PostgresError as exc:
            if is_retryable(exc) or is_unavailable(exc):
                raise
            # A value some row carries was refused: each on its own, so only that row fails.
            log.info("submit_batch_split", rows=len(batch), sqlstate=getattr(exc, "sqlstate", None))
            await self._each(batch)
            return
        again: list[_Pending] = []
        taken: dict[Any, int] = {}  # stars the payer's inserted rows took so far, by payer
        assumed: dict[Any, int] = {}  # stars the statement counted for the payer's earlier rows
        for pending, row in zip(batch, rows, strict=True):
            payer, price = pending.values["user_id"], pending.values["price_stars"]
            if row["available"] is None:
                _answer(pending, Submitted(None, False))
                continue
            tried = row["available"] - assumed.get(payer, 0) >= price  # the statement's own test
            assumed[payer] = assumed.get(payer, 0) + price
            available = row["available"] - taken.get(payer, 0)  # as if alone, after the rows before
            if row["inserted"]:
                taken[payer] = taken.get(payer, 0) + price
            elif not tried and available >= price:
                again.append(pending)  # refused for stars an earlier row did not take: alone
                continue
            _answer(pending, Submitted(available, bool(row["inserted"])))
        await self._each(again)

    async def _each(self, batch: list[_Pending]) -> None:
        """Run each row on its own, one after the other (each gets its own answer or error)."""
        for pending in batch:
            try:
                result: Submitted | BaseException = await self._one(pending)
            except Exception as exc:
                result = exc
            _answer(pending, result)


_QUEUES: weakref.WeakKeyDictionary[Database, _Submits] = weakref.WeakKeyDictionary()
_SENDING: set[asyncio.Task[None]] = set()  # strong references while a batch is under way


async def submit_soon(db: Database, values: dict[str, Any]) -> Submitted:
    """Accept a user's job (every column in ``values``) together with the other submits of this
    loop turn on ``db``; returns once its statement committed (or raises what it raised)."""
    queue = _QUEUES.get(db)
    if queue is None:
        queue = _QUEUES[db] = _Submits(db)
    # Each caller has a future of its own: one that goes away cancels only its own answer, never
    # the statement (which commits its job all the same, as a submit cut off after its commit).
    return await queue.add(values)
