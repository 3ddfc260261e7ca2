"""Property: any sequence of wallet operations keeps the invariants and matches a tiny reference model.

Invariants checked after every example: balance == ledger sum, the balance_after chain is
unbroken, held == open holds (``check_consistency`` is empty), and after every step the
balances equal the model's, coins never go negative, and available stars only go negative
after a (flagged) clawback. Credit grants (a plan's allowance) join in: granted once per source,
spent first by captures (those expiring first, first), taking the shortfall of other debits, and
written off at expiry except what open holds reserve; the model tracks them by expiry class.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from conjure.db import Database, utcnow
from conjure.settings import Settings
from conjure.wallet import grants, service
from conjure.wallet.models import CreditGrant
from tests.wallet.helpers import attempt, new_user, problems, wallet_of

RATE = 2

currencies = st.sampled_from(["star", "coin"])
operations = st.lists(
    st.one_of(
        st.tuples(st.just("hold"), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.just("capture"), st.integers(0, 3)),
        st.tuples(st.just("release"), st.integers(0, 3)),
        st.tuples(st.just("credit"), currencies, st.integers(1, 6), st.integers(0, 3)),
        st.tuples(st.just("clawback"), st.integers(1, 4), st.integers(0, 2)),
        st.tuples(st.just("exchange"), st.integers(1, 3)),
        st.tuples(st.just("grant"), currencies, st.integers(-4, 4).filter(bool)),
        st.tuples(st.just("allowance"), st.integers(1, 6), st.booleans(), st.integers(0, 3)),
        st.tuples(
            st.just("expire"),
        ),
    ),
    max_size=25,
)


@dataclass
class Model:
    """What the wallet should hold, computed the obvious way."""

    stars: int = 0
    coins: int = 0
    held: int = 0
    holds_seen: set[int] = field(default_factory=set)
    open_holds: dict[int, int] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    flagged: bool = False
    # Stars still in grants by expiry class: "soon" ones expire at the "expire" step, "late" ones never.
    soon: int = 0
    late: int = 0

    def _take(self, amount: int) -> None:
        """Spend from the grants, those expiring first, first."""
        from_soon = min(self.soon, amount)
        self.soon -= from_soon
        self.late -= min(self.late, amount - from_soon)

    def _shortfall(self, debit: int) -> None:
        """A debit that is not a capture takes from the grants what bought stars cannot cover."""
        short = self.soon + self.late - max(self.stars - debit, 0)
        if short > 0:
            self._take(min(short, debit))

    def apply(self, op: tuple[Any, ...]) -> str:  # noqa: C901 - one branch per operation is the clearest
        name = op[0]
        if name == "hold":
            job, amount = op[1], op[2]
            if amount == 0 or job in self.holds_seen:
                return "ok"
            if self.stars - self.held < amount:
                return "insufficient_stars"
            self.holds_seen.add(job)
            self.open_holds[job] = amount
            self.held += amount
        elif name in ("capture", "release"):
            amount = self.open_holds.pop(op[1], 0)
            self.held -= amount
            if name == "capture":
                self._take(amount)
                self.stars -= amount
        elif name == "credit":
            if f"c{op[3]}" not in self.keys:
                self.keys.add(f"c{op[3]}")
                self._add(op[1], op[2])
        elif name == "clawback":
            if f"r{op[2]}" not in self.keys:
                self.keys.add(f"r{op[2]}")
                self.flagged |= self.stars - self.held - op[1] < 0
                self._shortfall(op[1])
                self.stars -= op[1]
        elif name == "exchange":
            if self.coins < op[1] * RATE:
                return "insufficient_coins"
            self.coins -= op[1] * RATE
            self.stars += op[1]
        elif name == "grant":
            currency, amount = op[1], op[2]
            spendable = self.stars - self.held if currency == "star" else self.coins
            if amount < 0 and spendable < -amount:
                return f"insufficient_{currency}s"
            if amount < 0 and currency == "star":
                self._shortfall(-amount)
            self._add(currency, amount)
        elif name == "allowance":
            if f"a{op[3]}" not in self.keys:
                self.keys.add(f"a{op[3]}")
                self.stars += op[1]
                if op[2]:
                    self.soon += op[1]
                else:
                    self.late += op[1]
        elif name == "expire":
            reserved = min(self.soon, max(self.held, 0))
            written = min(self.soon - reserved, max(self.stars - self.held, 0))
            self.soon -= written
            self.stars -= written
        return "ok"

    def _add(self, currency: str, amount: int) -> None:
        if currency == "star":
            self.stars += amount
        else:
            self.coins += amount


SOON = utcnow() + dt.timedelta(days=1)
LATE = SOON + dt.timedelta(days=30)


def _call(
    op: tuple[Any, ...], uid: uuid.UUID, jobs: list[uuid.UUID], cfg: Settings
) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
    name = op[0]
    if name == "allowance":
        expires = SOON if op[2] else LATE
        return (
            grants.grant_allowance,
            (uid,),
            {"source_key": f"{uid}:a{op[3]}", "amount": op[1], "expires_at": expires},
        )
    if name == "expire":
        return grants.expire_user_grants, (uid,), {"now": SOON + dt.timedelta(seconds=1)}
    if name == "hold":
        return service.hold_stars, (uid, op[2]), {"job_id": jobs[op[1]]}
    if name == "capture":
        return service.capture_hold, (), {"job_id": jobs[op[1]]}
    if name == "release":
        return service.release_hold, (), {"job_id": jobs[op[1]]}
    if name == "credit":
        key = f"{uid}:c{op[3]}"
        return (
            service.credit,
            (uid,),
            {"amount": op[2], "currency": op[1], "tx_type": "grant", "idempotency_key": key},
        )
    if name == "clawback":
        return service.clawback_stars, (uid,), {"amount": op[1], "idempotency_key": f"{uid}:r{op[2]}"}
    if name == "exchange":
        return service.exchange_coins, (cfg, uid), {"stars": op[1]}
    return service.grant, (uid,), {"currency": op[1], "amount": op[2], "reason": "property test"}


async def _grants(db: Database, uid: uuid.UUID) -> list[CreditGrant]:
    async with db.session() as session:
        rows = await session.execute(select(CreditGrant).where(CreditGrant.user_id == uid))
        return list(rows.scalars())


async def run_sequence(url: str, cfg: Settings, ops: list[tuple[Any, ...]]) -> None:
    db = Database(url, pool_size=2)
    try:
        uid = await new_user(db, cfg)
        model = Model()
        jobs = [uuid.uuid4() for _ in range(4)]  # job ids are unique per job, so per example
        for op in ops:
            fn, args, kwargs = _call(op, uid, jobs, cfg)
            assert await attempt(db, fn, *args, **kwargs) == model.apply(op), op
            w = await wallet_of(db, uid)
            assert (w.star_balance, w.coin_balance, w.stars_held) == (model.stars, model.coins, model.held), (
                op
            )
            assert w.coin_balance >= 0
            assert w.available_stars >= 0 or model.flagged
            left = [g for g in (await _grants(db, uid)) if g.remaining]
            soon = sum(g.remaining for g in left if g.expires_at == SOON)
            assert (soon, sum(g.remaining for g in left) - soon) == (model.soon, model.late), op
        assert await problems(db) == []
    finally:
        await db.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_random_operation_sequences_keep_the_invariants(
    ops: list[tuple[Any, ...]], db_url: str, make_settings: Callable[..., Settings]
) -> None:
    # A fresh user per example; the database (and its earlier users) stays, which the check also covers.
    asyncio.run(run_sequence(db_url, make_settings(database_url=db_url, coins_per_star=RATE), ops))
