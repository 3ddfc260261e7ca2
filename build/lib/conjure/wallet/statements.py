"""The wallet's hold as PostgreSQL SQL, for statements that place a hold alongside other writes.

The job store's one-statement submit (``conjure.jobs.store.postgres``) accepts a paid job in a
single round trip: it composes these fragments into its own ``WITH`` query rather than spelling
out the money rules itself. They are the same rules :func:`conjure.wallet.service.hold_stars`
applies through the ORM: lock the payer's row first, hold only what is available, bump
``ledger_seq`` and append the ``hold`` ledger row (key ``hold:<job id>``) in the same transaction.
The ORM path and these fragments are checked against each other by ``tests/jobs/test_store_contract.py``
and by ``conjure wallet check``.
"""

from __future__ import annotations

import uuid


def hold_key(job_id: uuid.UUID | str) -> str:
    """The idempotency key of a job's hold (``capture:``/``release:`` settle it)."""
    return f"hold:{job_id}"


def payer_cte(*, user: str) -> str:
    """CTE ``payer (id, available)``: the payer's row, locked, with stars available now.

    ``FOR UPDATE`` returns the newest balance even after waiting for another holder of the row,
    so concurrent submits queue here instead of overspending. No row when the user is unknown.
    """
    return (
        "payer AS (SELECT id, star_balance - stars_held AS available "
        f"FROM users WHERE id = {user} FOR UPDATE)"
    )


def hold_ctes(*, user: str, amount: str, job_id: str, ledger_id: str, now: str, when: str) -> str:
    """CTEs ``held`` and ``ledger``: hold ``amount`` stars of ``user`` for ``job_id`` and record it.

    Written only when the CTE named ``when`` returns a row (the caller's "the job was inserted")
    and ``amount`` > 0; the caller has checked availability under :func:`payer_cte`'s lock.
    Arguments are SQL expressions (parameters such as ``$9``), not values.
    """
    return f"""held AS (
    UPDATE users
    SET stars_held = stars_held + {amount}, ledger_seq = ledger_seq + 1, updated_at = {now}
    FROM {when}
    WHERE users.id = {user} AND {amount} > 0
    RETURNING users.star_balance, users.stars_held, users.ledger_seq
), ledger AS (
    INSERT INTO wallet_transactions (
        id, user_id, seq, transaction_type, amount, currency, balance_after,
        held_change, held_after, related_job_id, idempotency_key, flagged, created_at
    )
    SELECT {ledger_id}, {user}, held.ledger_seq, 'hold', 0, 'star', held.star_balance,
           {amount}, held.stars_held, {job_id}, 'hold:' || {job_id}::text, false, {now}
    FROM held
)"""
