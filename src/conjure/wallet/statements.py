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


def payers_cte(*, users: str) -> str:
    """CTE ``payer (id, available, star_balance, stars_held, ledger_seq)``: the rows of the users
    ``users`` (a SQL query of user ids) locked in id order, with stars available now.

    :func:`payer_cte` for a statement that accepts the jobs of several payers at once. Locking in
    id order is what keeps two such statements with payers in common from deadlocking each other;
    ``FOR UPDATE`` returns each row's newest version, as there. A user who does not exist has no row.
    """
    return (
        "payer AS (SELECT id, star_balance - stars_held AS available, star_balance, stars_held, "
        f"ledger_seq FROM users WHERE id IN ({users}) ORDER BY id FOR UPDATE OF users)"
    )


def holds_ctes(*, rows: str) -> str:
    """CTEs ``charged``, ``held`` and ``ledger``: a hold for each row of ``rows`` with an amount > 0.

    ``rows`` is a SQL query with the columns ``ord, job_id, user_id, amount, ledger_id, now``: the
    jobs a multi-payer statement inserted, each payer's in the order ``ord``; availability was
    checked under :func:`payers_cte`'s locks (the CTE ``payer`` must be in the same statement). A
    payer's row is updated once, by the sum of its holds (a statement cannot update a row twice);
    its ledger rows take the next sequence numbers in ``ord`` order, each with the held total after
    it, exactly as that many :func:`hold_ctes` statements one after the other would write them.
    """
    return f"""charged AS (
    SELECT r.*, row_number() OVER w AS n, sum(r.amount) OVER w AS held_so_far
    FROM ({rows}) AS r
    WHERE r.amount > 0
    WINDOW w AS (PARTITION BY r.user_id ORDER BY r.ord)
), held AS (
    UPDATE users
    SET stars_held = users.stars_held + c.total, ledger_seq = users.ledger_seq + c.count,
        updated_at = c.now
    FROM (
        SELECT user_id, sum(amount) AS total, count(*) AS count, max(now) AS now
        FROM charged GROUP BY user_id
    ) AS c
    WHERE users.id = c.user_id
    RETURNING users.id
), ledger AS (
    INSERT INTO wallet_transactions (
        id, user_id, seq, transaction_type, amount, currency, balance_after,
        held_change, held_after, related_job_id, idempotency_key, flagged, created_at
    )
    SELECT c.ledger_id, c.user_id, payer.ledger_seq + c.n, 'hold', 0, 'star', payer.star_balance,
           c.amount, payer.stars_held + c.held_so_far, c.job_id, 'hold:' || c.job_id::text, false, c.now
    FROM charged AS c JOIN payer ON payer.id = c.user_id
)"""
