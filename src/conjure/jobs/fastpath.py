"""The two hottest requests as one PostgreSQL statement each: accept a paid job, and read one.

A viral spike is mostly "submit" and "poll". Through the ORM a submit took ten round trips
(BEGIN, lock the payer, insert the job, check the hold key, update the balance, append the
ledger row, …, COMMIT) and a poll four; here each is one statement on a pooled asyncpg
connection in autocommit, so it is also one transaction: all of it happens or none does.
SQLite keeps the ORM path in ``service.py`` (in process, round trips cost nothing there), and
the tests run the same behaviour on both. docs/bench.md has the before/after figures.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

# Lock the payer first (FOR UPDATE returns the newest balance even after waiting), insert
# the job only if the price is available, and only for an inserted job: its "queued"
# event, the hold on the balance and the hold's ledger row, numbered by users.ledger_seq.
# ON CONFLICT DO NOTHING covers a duplicate in flight (dedupe key) and a replayed
# Idempotency-Key; the caller then looks the winner up.
SUBMIT = """
WITH payer AS (
    SELECT id, star_balance - stars_held AS available FROM users WHERE id = $1 FOR UPDATE
), job AS (
    INSERT INTO jobs (
        id, user_id, kind, status, payload, dedupe_key, idempotency_key, request_hash,
        attempts, max_attempts, price_stars, prompt_version, schema_version, trace_id,
        webhook_url, start_deadline, run_at, cancel_requested, event_seq, created_at, updated_at
    )
    SELECT $2, payer.id, $3, 'queued', $4::text::jsonb, $5, $6, $7,
           0, $8, $9, $10, '1', $11,
           $14, $15, $12, false, 1, $12, $12
    FROM payer WHERE payer.available >= $9
    ON CONFLICT DO NOTHING
    RETURNING id
), queued AS (
    INSERT INTO job_events (job_id, seq, type, data, created_at)
    SELECT id, 1, 'queued', '{"status": "queued"}'::jsonb, $12 FROM job
), held AS (
    UPDATE users
    SET stars_held = stars_held + $9, ledger_seq = ledger_seq + 1, updated_at = $12
    FROM job
    WHERE users.id = $1 AND $9 > 0
    RETURNING users.star_balance, users.stars_held, users.ledger_seq
), ledger AS (
    INSERT INTO wallet_transactions (
        id, user_id, seq, transaction_type, amount, currency, balance_after,
        held_change, held_after, related_job_id, idempotency_key, flagged, created_at
    )
    SELECT $13, $1, held.ledger_seq, 'hold', 0, 'star', held.star_balance,
           $9, held.stars_held, $2, 'hold:' || $2::text, false, $12
    FROM held
)
SELECT (SELECT available FROM payer) AS available, (SELECT id FROM job) AS job_id
"""


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """The columns of a job its owner sees (``JobView.from_job`` reads these names off a Job too)."""

    id: uuid.UUID
    user_id: uuid.UUID | None
    kind: str
    status: str
    progress: dict[str, Any] | None
    result: dict[str, Any] | None
    error_code: str | None
    last_error: str | None
    attempts: int
    max_attempts: int
    trace_id: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


VIEW = f"SELECT {', '.join(JobSnapshot.__slots__)} FROM jobs WHERE id = $1 AND user_id = $2"


async def insert_held_job(conn: Any, values: dict[str, Any]) -> tuple[int | None, bool]:
    """Run SUBMIT: (stars available before, whether this job was inserted).

    ``available`` is None when the user does not exist.
    """
    row = await conn.fetchrow(
        SUBMIT,
        values["user_id"],
        values["id"],
        values["kind"],
        json.dumps(values["payload"]),
        values["dedupe_key"],
        values["idempotency_key"],
        values["request_hash"],
        values["max_attempts"],
        values["price_stars"],
        values["prompt_version"],
        values["trace_id"],
        values["created_at"],
        uuid.uuid4(),
        values["webhook_url"],
        values["start_deadline"],
    )
    return row["available"], row["job_id"] is not None


async def fetch_job_view(conn: Any, job_id: uuid.UUID, user_id: uuid.UUID) -> JobSnapshot | None:
    """The job as its owner sees it, or None when it is not theirs."""
    row = await conn.fetchrow(VIEW, job_id, user_id)
    return JobSnapshot(*row) if row is not None else None
