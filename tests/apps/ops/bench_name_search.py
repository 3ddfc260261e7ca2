"""Name search at N customers: the blind index against the decrypt-every-name scan it replaced.

    .venv/bin/python -m tests.apps.ops.bench_name_search [--customers 10000] [--postgres] [--rounds 3]

One station of N customers (names Latin and Thai, as the migration-free path writes them), then the
customer list's search (``customers.list_customers``: candidates, count and first page of 100) per
query, alternating scan, index, scan, index so load drift hits both alike. Prints milliseconds per
search, wall and CPU of this process (the API's side; PostgreSQL's own CPU is not in it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import statistics
import tempfile
import time
import uuid
from typing import Any

from sqlalchemy import func, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops import customers, names
from conjure.apps.ops.crypto import PIICipher, context
from conjure.apps.ops.models import Customer, CustomerNameToken, Station
from conjure.db import Database, new_id
from conjure.migrations.runner import upgrade


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    """James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard
    Susan Joseph Jessica Thomas Sarah Maria Karen Daniel Nancy Matthew Lisa Anthony Betty Mark Sandra
    สมชาย สมศักดิ์ ณัฐวุฒิ วิชัย ประเสริฐ สุดา มาลี กมลา อรุณี ปิยะ"""
)
LAST = _words(
    """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
    Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Clark Lewis
    ใจดี ศรีสุข แสงทอง บุญมา สุขสวัสดิ์ วงศ์สวัสดิ์ ทองดี รักไทย"""
)
QUERIES = ("a", "so", "son", "garcia", "maria gar", "ชาย", "ศรีสุข", "zebedee")


async def _scan_list(
    session: AsyncSession, cipher: PIICipher, station_id: uuid.UUID, q: str
) -> tuple[list[Customer], int]:
    """``list_customers(q=…)`` before the index (as it was in customers.py): every name of the
    station decrypted and matched in Python, then ``id IN (…) OR`` the email and phone hashes."""
    needle = q.casefold()
    rows = await session.execute(
        select(Customer.id, Customer.name_enc).where(
            Customer.station_id == station_id, Customer.name_enc.is_not(None)
        )
    )
    ids: list[uuid.UUID] = []
    for customer_id, name_enc in rows:
        name = cipher.decrypt(name_enc, context(station_id, "name"))
        if name is not None and needle in name.casefold():
            ids.append(customer_id)
            if len(ids) >= customers.NAME_MATCHES_MAX:
                break
    where = [
        Customer.station_id == station_id,
        or_(
            Customer.id.in_(ids),
            Customer.email_hash == cipher.lookup_hash(q, context(station_id, "email")),
            Customer.phone_hash == cipher.lookup_hash(q, context(station_id, "phone")),
        ),
    ]
    total = await session.scalar(select(func.count()).select_from(Customer).where(*where))
    stmt = select(Customer).where(*where).order_by(Customer.created_at.desc(), Customer.id).limit(100)
    return list(await session.scalars(stmt)), int(total or 0)


async def _populate(db: Database, cipher: PIICipher, count: int) -> uuid.UUID:
    rng = random.Random(7)
    station_id = new_id()
    now = dt.datetime.now(dt.UTC)
    async with db.session() as session:
        session.add(Station(id=station_id, name="Bench", slug=f"bench-{station_id.hex[:8]}"))
        await session.flush()
        for start in range(0, count, 1000):
            people: list[dict[str, Any]] = []
            tokens: list[dict[str, object]] = []
            for n in range(start, min(start + 1000, count)):
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                email, phone = f"c{n}@example.com", f"+1415{n:07d}"
                customer_id = new_id()
                people.append(
                    {
                        "id": customer_id,
                        "station_id": station_id,
                        "name_enc": cipher.encrypt(name, context(station_id, "name")),
                        "email_enc": cipher.encrypt(email, context(station_id, "email")),
                        "phone_enc": cipher.encrypt(phone, context(station_id, "phone")),
                        "email_hash": cipher.lookup_hash(email, context(station_id, "email")),
                        "phone_hash": cipher.lookup_hash(phone, context(station_id, "phone")),
                        "marketing_email": False,
                        "marketing_sms": False,
                        "name_indexed": True,
                        "created_at": now - dt.timedelta(seconds=n),
                        "updated_at": now,
                    }
                )
                tokens += names.token_rows(cipher, station_id, customer_id, name)
            await session.execute(insert(Customer), people)
            await session.execute(insert(CustomerNameToken), tokens)
    return station_id


async def _one(
    db: Database, cipher: PIICipher, station_id: uuid.UUID, q: str, how: str
) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    async with db.session() as session:
        if how == "scan":
            _, total = await _scan_list(session, cipher, station_id, q)
        else:
            _, total = await customers.list_customers(
                session,
                cipher,
                station_id,
                email=None,
                phone=None,
                sort="-created_at",
                limit=100,
                offset=0,
                q=q,
            )
    return time.perf_counter() - wall, time.process_time() - cpu, total


async def _run(url: str, count: int, rounds: int, repeat: int) -> None:
    db = Database(url)
    cipher = PIICipher(os.urandom(32), os.urandom(32))
    started = time.perf_counter()
    station_id = await _populate(db, cipher, count)
    print(f"{count} customers written in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})")
    async with db.session() as session:
        rows = await session.scalar(select(func.count()).select_from(CustomerNameToken))
        size = ""
        if not db.is_sqlite:
            found = await session.scalar(text("SELECT pg_total_relation_size('ops_customer_name_tokens')"))
            size = f", {int(found or 0) / 2**20:.1f} MiB with its indexes"
    print(f"{rows} name tokens ({(rows or 0) / count:.1f} per customer){size}")
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    totals: dict[tuple[str, str], int] = {}
    for _ in range(rounds):
        for how in ("scan", "index"):
            for q in QUERIES:
                for _ in range(repeat):
                    wall, cpu, total = await _one(db, cipher, station_id, q, how)
                    samples.setdefault((how, q), []).append((wall, cpu))
                    totals[(how, q)] = total
    print(
        f"{'query':>12} {'matches':>8} | {'scan wall':>9} {'cpu':>7} | {'index wall':>10} {'cpu':>7}"
        "  (ms per search, medians)"
    )
    for q in QUERIES:
        cells = []
        for how in ("scan", "index"):
            walls, cpus = zip(*samples[(how, q)], strict=True)
            cells.append(f"{statistics.median(walls) * 1e3:9.2f} {statistics.median(cpus) * 1e3:7.2f}")
        same = "" if totals[("scan", q)] == totals[("index", q)] else f" (scan found {totals[('scan', q)]})"
        print(f"{q:>12} {totals[('index', q)]:>8} | {cells[0]} | {cells[1]:>18}{same}")
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3, help="searches per query per round")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL (else SQLite)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.postgres:
            from tests.servers import postgres_server

            url = stack.enter_context(postgres_server())
        else:
            url = f"sqlite+aiosqlite:///{stack.enter_context(tempfile.TemporaryDirectory())}/bench.db"
        upgrade(url)
        asyncio.run(_run(url, args.customers, args.rounds, args.repeat))


if __name__ == "__main__":
    main()
