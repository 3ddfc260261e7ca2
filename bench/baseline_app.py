"""Bare FastAPI handlers that each do one thing, measured beside Conjure in the same run.

`POST /xadd` does only a Redis XADD; `GET /row/{id}` reads only one row with asyncpg.
Conjure's figures are reported as ratios against these, so they survive a noisy machine.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import redis.asyncio as aioredis
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.redis = aioredis.from_url(os.environ["BENCH_REDIS_URL"])
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_PG_DSN"], min_size=10, max_size=20)
    async with app.state.pool.acquire() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_rows (id int primary key, body text)")
        await conn.execute(
            "INSERT INTO bench_rows SELECT g, md5(g::text) FROM generate_series(1, 1000) g"
            " ON CONFLICT DO NOTHING"
        )
    yield
    await app.state.redis.aclose()
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/xadd")
async def xadd() -> dict[str, str]:
    entry = await app.state.redis.xadd("bench:stream", {"job": "x"}, maxlen=100_000, approximate=True)
    return {"id": entry.decode()}


@app.get("/row/{row_id}")
async def row(row_id: int) -> dict[str, object]:
    record = await app.state.pool.fetchrow("SELECT id, body FROM bench_rows WHERE id = $1", row_id)
    return dict(record) if record else {}
