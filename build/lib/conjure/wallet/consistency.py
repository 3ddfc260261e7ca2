"""The wallet's invariants, checked against the whole database (``conjure wallet check``).

For every user:

1. ``star_balance`` and ``coin_balance`` == the sum of that currency's ledger amounts;
2. the chain is unbroken: ``seq`` runs 1, 2, 3, … and each row's ``balance_after``
   (and ``held_after`` for stars) == the previous value + this row's change;
3. ``stars_held`` == the sum of open holds (hold rows with no capture or release), and
   ``ledger_seq`` == the seq of the latest row;
4. no balance is negative and available stars are not, unless a flagged clawback explains it;
5. every credit grant adds up: ``remaining == amount - spent - written_off - clawed_back``; the
   stars captures (and shortfalls) took from it, named in their rows' ``metadata.grants``, sum to
   ``spent``; its ``allowance_expiry`` rows to ``written_off``; its own rows (allowance, expiry,
   clawback) less ``spent`` to ``remaining``; and the user's grants never claim more stars than
   the balance holds (unless a flagged clawback explains it).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.users.models import User
from conjure.wallet.models import CreditGrant, Currency, TransactionType, WalletTransaction


@dataclass(frozen=True)
class Problem:
    """One broken invariant of one user's wallet."""

    user_id: uuid.UUID
    message: str

    def __str__(self) -> str:
        return f"user {self.user_id}: {self.message}"


@dataclass
class _Walk:
    """Running totals while replaying one user's ledger in ``seq`` order."""

    stars: int = 0
    coins: int = 0
    held: int = 0
    seq: int = 0
    flagged: bool = False
    open_holds: dict[uuid.UUID | None, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Per grant id: stars spent from it (metadata.grants), its own rows' net, its write-offs.
    grant_spent: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    grant_net: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    grant_expired: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def step_grants(self, row: WalletTransaction) -> None:
        meta = row.meta or {}
        for grant_id, stars in (meta.get("grants") or {}).items():
            self.grant_spent[str(grant_id)] += int(stars)
        grant_id = meta.get("grant_id")
        if grant_id is not None:
            self.grant_net[str(grant_id)] += row.amount
            if row.transaction_type == TransactionType.ALLOWANCE_EXPIRY:
                self.grant_expired[str(grant_id)] -= row.amount

    def step(self, row: WalletTransaction) -> None:
        self.seq += 1
        if row.seq != self.seq:
            self.problems.append(f"ledger seq {row.seq} where {self.seq} was expected (row {row.id})")
            self.seq = row.seq
        self.flagged = self.flagged or row.flagged
        if row.currency == Currency.STAR:
            self.stars += row.amount
            self.held += row.held_change
            if row.balance_after != self.stars or row.held_after != self.held:
                self.problems.append(
                    f"star chain broken at seq {row.seq}: balance_after {row.balance_after} "
                    f"(expected {self.stars}), held_after {row.held_after} (expected {self.held})"
                )
                self.stars, self.held = row.balance_after, row.held_after
        else:
            self.coins += row.amount
            if row.balance_after != self.coins:
                self.problems.append(
                    f"coin chain broken at seq {row.seq}: balance_after {row.balance_after} "
                    f"(expected {self.coins})"
                )
                self.coins = row.balance_after
        if row.transaction_type == TransactionType.HOLD:
            self.open_holds[row.related_job_id] = row.held_change
        elif row.transaction_type in (TransactionType.CAPTURE, TransactionType.RELEASE):
            self.open_holds.pop(row.related_job_id, None)


def _compare(user: User, walk: _Walk, sums: dict[str, int]) -> list[str]:
    problems = list(walk.problems)
    if user.star_balance != sums[Currency.STAR]:
        problems.append(f"star_balance {user.star_balance} != ledger sum {sums[Currency.STAR]}")
    if user.coin_balance != sums[Currency.COIN]:
        problems.append(f"coin_balance {user.coin_balance} != ledger sum {sums[Currency.COIN]}")
    if user.ledger_seq != walk.seq:
        problems.append(f"ledger_seq {user.ledger_seq} != last ledger seq {walk.seq}")
    open_held = sum(walk.open_holds.values())
    if user.stars_held != open_held:
        problems.append(f"stars_held {user.stars_held} != open holds {open_held}")
    if user.coin_balance < 0:
        problems.append(f"coin_balance is negative ({user.coin_balance})")
    if user.star_balance - user.stars_held < 0 and not walk.flagged:
        problems.append(
            f"available stars negative ({user.star_balance} - {user.stars_held}) without a flagged clawback"
        )
    return problems


def _compare_grants(user: User, walk: _Walk, grants: list[CreditGrant]) -> list[str]:
    problems = []
    for grant in grants:
        gid, name = str(grant.id), f"grant {grant.id} ({grant.source_key})"
        parts = grant.amount - grant.spent - grant.written_off - grant.clawed_back
        if grant.remaining != parts or min(grant.remaining, grant.spent, grant.written_off) < 0:
            problems.append(
                f"{name}: remaining {grant.remaining} != amount less spent, written off, clawed back"
            )
        if walk.grant_spent[gid] != grant.spent:
            problems.append(f"{name}: spent {grant.spent} != ledger spends {walk.grant_spent[gid]}")
        if walk.grant_expired[gid] != grant.written_off:
            problems.append(
                f"{name}: written_off {grant.written_off} != expiry rows {walk.grant_expired[gid]}"
            )
        if walk.grant_net[gid] - grant.spent != grant.remaining:
            problems.append(
                f"{name}: ledger net {walk.grant_net[gid]} less spent != remaining {grant.remaining}"
            )
    claimed = sum(g.remaining for g in grants)
    if claimed > max(user.star_balance, 0) and not walk.flagged:
        problems.append(f"grants claim {claimed} stars, more than the balance {user.star_balance}")
    return problems


async def check_consistency(session: AsyncSession, user_id: uuid.UUID | None = None) -> list[Problem]:
    """Every broken wallet invariant (empty when all is well), for one user or all of them."""
    users_stmt = select(User).execution_options(populate_existing=True)
    rows_stmt = select(WalletTransaction).order_by(WalletTransaction.user_id, WalletTransaction.seq)
    if user_id is not None:
        users_stmt = users_stmt.where(User.id == user_id)
        rows_stmt = rows_stmt.where(WalletTransaction.user_id == user_id)
    users = {u.id: u for u in (await session.execute(users_stmt)).scalars()}
    grants_stmt = select(CreditGrant).execution_options(populate_existing=True)
    if user_id is not None:
        grants_stmt = grants_stmt.where(CreditGrant.user_id == user_id)
    grants: dict[uuid.UUID, list[CreditGrant]] = defaultdict(list)
    for grant in (await session.execute(grants_stmt)).scalars():
        grants[grant.user_id].append(grant)
    walks: dict[uuid.UUID, _Walk] = defaultdict(_Walk)
    sums: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: {Currency.STAR: 0, Currency.COIN: 0})
    # Streamed in batches and dropped after use, so memory stays flat on a big ledger.
    rows = await session.stream_scalars(rows_stmt.execution_options(yield_per=2000))
    async for row in rows:
        walks[row.user_id].step(row)
        walks[row.user_id].step_grants(row)
        sums[row.user_id][row.currency] += row.amount
        session.expunge(row)
    problems: list[Problem] = []
    for uid, user in users.items():
        problems.extend(Problem(uid, message) for message in _compare(user, walks[uid], sums[uid]))
        messages = _compare_grants(user, walks[uid], grants[uid])
        problems.extend(Problem(uid, message) for message in messages)
    return problems
