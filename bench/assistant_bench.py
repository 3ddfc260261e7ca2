"""The assistant against the seed's targets: time to first token with a warm model under 50
concurrent conversations, memory retrieval at 100,000 memories for one user (pgvector and the
embedded sqlite-vec index), delegation accept time, meditation wall time for 20 minutes of audio.

    python bench/assistant_bench.py [--conversations 50] [--warm-rounds 1] [--memories 100000] [--queries 200]
                                    [--backend embedded|pg_redis] [--in-process-worker]
                                    [--skip-meditation] [--out assistant.json]
                                    [--parts chat,delegation,meditation,memory]

The local model is the tests' OpenAI-compatible peer at a realistic pace for Llama 3.1 8B Q4 on
one GPU (150 ms to the first token, 25 ms a token, 8 slots like ``llama-server -np 8``), with a
second peer as the API fallback (300 ms to the first token): conversations beyond the local
slots go to the fallback once the expected wait passes ASSISTANT_LOCAL_MAX_WAIT_MS. Time to first
token is measured as the person sees it: from the POST to the first ``message.delta`` on their
event stream. Writes ``bench/results/assistant.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np
from tests.apps.assistant.openai_peer import OpenAIPeer
from tests.factories import auth_headers, make_user

from conjure.app import create_app
from conjure.apps import installed_apps
from conjure.apps.assistant.memory import memory_tools, recall
from conjure.apps.assistant.memory_index import SqliteVecIndex
from conjure.apps.assistant.models import EMBEDDING_DIMENSIONS
from conjure.apps.assistant.routing import ModelRouter, router_for
from conjure.jobs.models import Job
from conjure.jobs.worker import serve as serve_on_worker_loop
from conjure.jobs.worker import settle_heap, start_embedded
from conjure.migrations.runner import upgrade
from conjure.runtime import Runtime
from conjure.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
# A person's pause between an answer's end and their next message (reading it, typing): short for
# chat, so the load is heavier than people's real pace.
THINK_SECONDS = (1.0, 3.0)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else 0.0


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": pct(values, 0.5),
        "p95": pct(values, 0.95),
        "max": round(max(values), 2) if values else 0.0,
        "mean": round(statistics.fmean(values), 2) if values else 0.0,
    }


def _serve_peer(conn: Any, options: dict[str, Any]) -> None:
    """A peer in a process of its own: its url up the pipe, then serve until told to stop."""
    peer = OpenAIPeer(**options).start()
    conn.send(peer.url)
    conn.recv()  # "stop"
    conn.send({"peak": peer.peak, "calls": len(peer.chat_calls())})
    peer.stop()


class PeerProcess:
    """An OpenAI-compatible peer in its own process: a model server is not a thread of the app,
    and a thread here would take the GIL from the event loop being measured."""

    def __init__(self, **options: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve_peer, args=(child, options), daemon=True)
        self.process.start()
        self.url: str = self.conn.recv()
        self.stats: dict[str, int] = {}

    def stop(self) -> dict[str, int]:
        if not self.stats:
            self.conn.send("stop")
            self.stats = self.conn.recv()
            self.process.join(10)
        return self.stats


@contextlib.contextmanager
def databases(backend: str, tmp: Path) -> Iterator[dict[str, str]]:
    if backend == "embedded":
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        yield {"database_url": url}
        return
    from harness import infrastructure

    with infrastructure("assistant_bench") as infra:
        yield {"database_url": infra.database_url, "redis_url": infra.redis_url}


def bench_settings(tmp: Path, db: dict[str, str], **overrides: Any) -> dict[str, Any]:
    return {
        "environment": "test",
        "var_dir": tmp / "var",
        "jwt_secret": "bench-secret-" + "x" * 32,
        "storage_url": f"file://{tmp / 'objects'}",
        "worker_concurrency": 80,
        "rate_limit_default": "100000/minute",
        "assistant_messages_rate_limit": "100000/minute",
        **db,
        **overrides,
    }


def _serve_worker(conn: Any, options: dict[str, Any]) -> None:
    """A worker process (``conjure worker``'s engine): warm the model, answer until told to stop,
    telling the parent its CPU time when asked."""

    async def serve() -> None:
        settings = Settings(_env_file=None, **options)  # type: ignore[call-arg]
        runtime = await Runtime.start(settings, apps=installed_apps())
        router = router_for(settings)
        assert isinstance(router, ModelRouter)
        began = time.perf_counter()
        await router.warm_up()
        stop = await start_embedded(runtime)
        settle_heap()  # as run_worker does once started
        conn.send(time.perf_counter() - began)
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, conn.recv) == "cpu":
            conn.send(time.process_time())
        await stop()
        await runtime.close()
        conn.send("stopped")

    serve_on_worker_loop(serve())  # uvloop, as `conjure worker` runs


class WorkerProcess:
    """The answers' worker in a process of its own, as production runs it beside the API."""

    def __init__(self, options: dict[str, Any]) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve_worker, args=(child, options), daemon=True)
        self.process.start()
        self.warm_up: float = self.conn.recv()

    def cpu(self) -> float:
        self.conn.send("cpu")
        seconds: float = self.conn.recv()
        return seconds

    async def stop(self) -> None:
        self.conn.send("stop")
        await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)
        self.process.join(10)


async def start(
    tmp: Path, db: dict[str, str], *, worker: bool = True, **overrides: Any
) -> tuple[Runtime, httpx.AsyncClient, Any]:
    settings = Settings(_env_file=None, **bench_settings(tmp, db, **overrides))  # type: ignore[call-arg]
    runtime = await Runtime.start(settings, apps=installed_apps())
    stop = await start_embedded(runtime) if worker else runtime.close
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=runtime, apps=runtime.apps)),
        base_url="http://bench",
    )
    return runtime, client, stop


async def person(runtime: Runtime, client: httpx.AsyncClient) -> tuple[uuid.UUID, dict[str, str], str]:
    user = await make_user(runtime, stars=5)
    headers = auth_headers(runtime, user)
    conversation = (await client.post("/api/v1/assistant/conversations", json={}, headers=headers)).json()[
        "id"
    ]
    return user.id, headers, conversation


async def first_token(
    runtime: Runtime, client: httpx.AsyncClient, who: tuple[uuid.UUID, dict[str, str], str], go: asyncio.Event
) -> tuple[float, str, bool]:
    """One person's message: seconds from the POST to the first delta on their stream, the route,
    and whether the answer went without its memories (recall past ASSISTANT_MEMORY_BUDGET_MS)."""
    user_id, headers, conversation = who
    async with runtime.user_events.subscribe(user_id, None) as stream:
        await go.wait()
        started = time.perf_counter()
        response = await client.post(
            f"/api/v1/assistant/conversations/{conversation}/messages",
            json={"content": "What should I cook tonight with rice and eggs?"},
            headers=headers,
        )
        assert response.status_code == 202, response.text
        ttft = None
        route = ""
        skipped = False
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            event = await stream.next(1.0)
            if event is None:
                continue
            if event.type == "message.delta" and ttft is None:
                ttft = time.perf_counter() - started
            if event.type == "message.completed":
                route = event.payload()["route"]
                skipped = bool(event.payload().get("memories_skipped"))
                break
    assert ttft is not None, "no delta arrived"
    return ttft, route, skipped


async def burst(
    runtime: Runtime, client: httpx.AsyncClient, people: list[tuple[uuid.UUID, dict[str, str], str]]
) -> list[tuple[float, str, bool]]:
    """Every person sends a message at the same moment; each one's first token, route, skip."""
    go = asyncio.Event()
    tasks = [asyncio.create_task(first_token(runtime, client, who, go)) for who in people]
    await asyncio.sleep(0.5)  # every stream subscribed
    go.set()
    return await asyncio.gather(*tasks)


async def steady(
    runtime: Runtime,
    client: httpx.AsyncClient,
    people: list[tuple[uuid.UUID, dict[str, str], str]],
    messages: int,
    think: tuple[float, float],
) -> list[tuple[float, str, bool]]:
    """The conversations under way at once, as people chat: each person sends ``messages`` messages,
    each after the previous answer has ended and a pause to read it (``think`` seconds, uniform);
    the first message comes at a random moment within the first pause, so the arrivals are spread
    as independent people's are, not one instant's burst. Each message's first token, route, skip."""
    go = asyncio.Event()
    go.set()
    rng = random.Random(7)

    async def chat(
        who: tuple[uuid.UUID, dict[str, str], str], offset: float
    ) -> list[tuple[float, str, bool]]:
        await asyncio.sleep(offset)
        out = []
        for _ in range(messages):
            out.append(await first_token(runtime, client, who, go))
            await asyncio.sleep(rng.uniform(*think))
        return out

    runs = await asyncio.gather(*(chat(who, rng.uniform(0, think[1])) for who in people))
    return [result for run in runs for result in run]


async def settled(runtime: Runtime, timeout: float = 120.0) -> None:
    """Wait until no job is queued or running (the burst's memory jobs included)."""
    from sqlalchemy import func, select

    from conjure.jobs.models import JobStatus

    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        async with runtime.db.session() as session:
            busy = await session.scalar(
                select(func.count()).where(Job.status.in_((JobStatus.QUEUED, JobStatus.PROCESSING)))
            )
        if not busy:
            return
        await asyncio.sleep(0.2)


async def bench_chat(
    tmp: Path,
    db: dict[str, str],
    conversations: int,
    separate_worker: bool = False,
    warm_rounds: int = 1,
    steady_messages: int = 0,
) -> dict[str, Any]:
    """Time to first token with ``conversations`` people at once: all sending in one instant (a
    burst, the worst case), or with ``steady_messages`` each chatting as people do (:func:`steady`)."""
    local = PeerProcess(
        first_token_delay=0.15,
        token_delay=0.025,
        max_concurrency=8,
        reply=" ".join(["Fried rice with a soft egg on top would be lovely tonight."] * 3),
    )
    fallback = PeerProcess(model="gpt-4o-mini", first_token_delay=0.3, token_delay=0.01)
    chat = {
        "assistant_local_base_url": local.url,
        "assistant_local_max_concurrency": 8,
        "assistant_local_max_wait_ms": 400,
        "ai_provider": "openai",
        "openai_base_url": f"{fallback.url}/v1",
        "openai_api_key": "sk-bench",
    }
    # PostgreSQL + Redis: the worker in a process of its own, as in production (--in-process-worker:
    # one process). Embedded runs them together by design (``conjure up``).
    worker = WorkerProcess(bench_settings(tmp / "chat", db, **chat)) if separate_worker else None
    try:
        runtime, client, stop = await start(tmp / "chat", db, worker=worker is None, **chat)
        try:
            if worker is None:
                router = router_for(runtime.settings)
                assert isinstance(router, ModelRouter)
                loading = time.perf_counter()
                await router.warm_up()  # what /ready does at start-up: load the model, import the fallback
                warm_up = time.perf_counter() - loading
            else:
                warm_up = worker.warm_up
            people = [await person(runtime, client) for _ in range(conversations)]
            for _ in range(warm_rounds):
                # A burst like the measured one first: a process that has served before has its
                # connection pools (database, Redis, HTTP to the models) and caches filled.
                await burst(runtime, client, people)
                await settled(runtime)
            # CPU: the API's and the worker's (this process's threads, and the worker process's).
            began = (time.process_time(), worker.cpu() if worker else 0.0)
            if steady_messages:
                results = await steady(runtime, client, people, steady_messages, THINK_SECONDS)
            else:
                results = await burst(runtime, client, people)
            answered = (time.process_time(), worker.cpu() if worker else 0.0)
            # ... and with the background work the burst left (each message's assistant.remember).
            await settled(runtime)
            done = (time.process_time(), worker.cpu() if worker else 0.0)
        finally:
            await client.aclose()
            if stop != runtime.close:
                await stop()
            await runtime.close()
            if worker is not None:
                await worker.stop()
    finally:
        local.stop()
        fallback.stop()
    n = len(results)

    def per_message(start: tuple[float, float], end: tuple[float, float]) -> float:
        return round((end[0] - start[0] + end[1] - start[1]) * 1000 / n, 1)

    ttfts = [r[0] * 1000 for r in results]
    routes: dict[str, int] = {}
    for _, route, _ in results:
        routes[route] = routes.get(route, 0) + 1
    return {
        "conversations": conversations,
        "arrivals": f"{steady_messages} each, {THINK_SECONDS} s apart" if steady_messages else "burst",
        "messages": n,
        "warm_up_ms": round(warm_up * 1000, 1),
        "ttft_ms": summary(ttfts),
        "routes": routes,
        "ttft_ms_by_route": {
            route: summary([r[0] * 1000 for r in results if r[1] == route]) for route in sorted(routes)
        },
        "worker": "process" if separate_worker else "in-process",
        "warm_rounds": warm_rounds,
        "cpu_ms_per_message": per_message(began, answered),
        "api_cpu_ms_per_message": round((answered[0] - began[0]) * 1000 / n, 1) if separate_worker else None,
        "cpu_ms_per_message_with_background": per_message(began, done),
        "memories_skipped": sum(r[2] for r in results),
        "local_peak_in_flight": local.stop()["peak"],
    }


async def bench_memory(tmp: Path, db: dict[str, str], count: int, queries: int) -> dict[str, Any]:
    runtime, client, stop = await start(tmp / "memory", db)
    try:
        user = await make_user(runtime)
        rng = np.random.default_rng(7)
        vectors = rng.standard_normal((count, EMBEDDING_DIMENSIONS)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        started = time.perf_counter()
        await bulk_load(runtime, user.id, vectors)
        load_s = time.perf_counter() - started
        texts = [
            "What's my dog called?",
            "Plan my marathon training",
            "Any noodle recipes?",
            "Where do I live?",
        ]
        times = []
        for i in range(queries):
            async with runtime.db.session() as session:
                began = time.perf_counter()
                await recall(session, runtime.settings, user.id, texts[i % len(texts)])
                times.append((time.perf_counter() - began) * 1000)
    finally:
        await client.aclose()
        await stop()
        await runtime.close()
    return {"memories": count, "load_seconds": round(load_s, 1), "retrieval_ms": summary(times)}


async def bulk_load(runtime: Runtime, user_id: uuid.UUID, vectors: Any) -> None:
    """100,000 memories of one user: rows and vectors in bulk (the index built once at the end on PG)."""
    now = time.time()
    index = memory_tools(runtime.settings).index
    rows = [(uuid.uuid4(), f"Synthetic memory {i}", vectors[i]) for i in range(len(vectors))]
    if isinstance(index, SqliteVecIndex):
        from sqlalchemy import insert

        from conjure.apps.assistant.models import Memory
        from conjure.db import utcnow

        async with runtime.db.session() as session:
            await index._ensure(session)
            await session.execute(
                insert(Memory),
                [
                    {
                        "id": mid,
                        "user_id": user_id,
                        "content": text,
                        "category": "fact",
                        "embedding": vec.tobytes(),
                        "created_at": utcnow(),
                    }
                    for mid, text, vec in rows
                ],
            )
        await asyncio.to_thread(
            index._insert_many, [(user_id.hex, vec.tobytes(), mid.hex) for mid, _, vec in rows]
        )
        return
    async with runtime.db.driver_connection() as conn:
        # COPY speaks binary, which asyncpg has no encoder for pgvector's type in: copy the vectors as
        # text into a scratch table, cast them in one INSERT, then build the HNSW index once.
        await conn.execute("DROP INDEX IF EXISTS ix_assistant_memories_embedding_hnsw")
        await conn.execute("CREATE TEMP TABLE bulk (id uuid, content text, embedding text)")
        await conn.copy_records_to_table(
            "bulk",
            records=[(mid, text, "[" + ",".join(f"{v:.6f}" for v in vec) + "]") for mid, text, vec in rows],
            columns=["id", "content", "embedding"],
        )
        await conn.execute(
            "INSERT INTO assistant_memories (id, user_id, content, category, embedding, created_at)"
            " SELECT id, $1, content, 'fact', embedding::vector, to_timestamp($2) FROM bulk",
            user_id,
            now,
        )
        await conn.execute("SET maintenance_work_mem = '512MB'")
        await conn.execute(
            "CREATE INDEX ix_assistant_memories_embedding_hnsw ON assistant_memories "
            "USING hnsw (embedding vector_cosine_ops)"
        )
        await conn.execute("ANALYZE assistant_memories")


async def bench_delegation(tmp: Path, db: dict[str, str], people: int) -> dict[str, Any]:
    runtime, client, stop = await start(tmp / "delegation", db)
    times = []
    try:
        for _ in range(people):
            user = await make_user(runtime, stars=3)
            headers = auth_headers(runtime, user)
            conversation = (
                await client.post("/api/v1/assistant/conversations", json={}, headers=headers)
            ).json()["id"]
            path = f"/api/v1/assistant/conversations/{conversation}/messages"
            await client.post(
                path, json={"content": "Could you do a tarot reading about my career?"}, headers=headers
            )
            began = time.perf_counter()
            accepted = (await client.post(path, json={"content": "yes"}, headers=headers)).json()
            times.append((time.perf_counter() - began) * 1000)
            async with runtime.db.session() as session:
                from sqlalchemy import select

                child = await session.scalar(
                    select(Job.id).where(Job.parent_job_id == uuid.UUID(accepted["job_id"]))
                )
            assert child is not None
    finally:
        await client.aclose()
        await stop()
        await runtime.close()
    return {"people": people, "accept_ms": summary(times)}


async def bench_meditation(tmp: Path, db: dict[str, str]) -> dict[str, Any]:
    runtime, client, stop = await start(tmp / "meditation", db)
    try:
        user = await make_user(runtime, stars=3)
        headers = auth_headers(runtime, user)
        began = time.perf_counter()
        accepted = (
            await client.post(
                "/api/v1/assistant/meditations", json={"theme": "sleep", "minutes": 20}, headers=headers
            )
        ).json()
        while True:
            body = (
                await client.get(
                    f"/api/v1/assistant/meditations/{accepted['meditation_id']}", headers=headers
                )
            ).json()
            if body["status"] in ("ready", "failed", "canceled"):
                break
            await asyncio.sleep(0.2)
        wall = time.perf_counter() - began
    finally:
        await client.aclose()
        await stop()
        await runtime.close()
    return {
        "minutes": 20,
        "status": body["status"],
        "duration_seconds": body["duration_seconds"],
        "wall_seconds": round(wall, 1),
    }


async def run(args: argparse.Namespace, tmp: Path, db: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"backend": args.backend}
    parts = set(args.parts.split(","))
    if "chat" in parts:
        separate = args.backend == "pg_redis" and not args.in_process_worker
        out["chat"] = await bench_chat(
            tmp, db, args.conversations, separate, args.warm_rounds, args.steady_messages
        )
        print(json.dumps(out["chat"]), flush=True)
    if "delegation" in parts:
        out["delegation"] = await bench_delegation(tmp, db, 20)
        print(json.dumps(out["delegation"]), flush=True)
    if "meditation" in parts and not args.skip_meditation:
        out["meditation"] = await bench_meditation(tmp, db)
        print(json.dumps(out["meditation"]), flush=True)
    if "memory" in parts:
        out["memory"] = await bench_memory(tmp, db, args.memories, args.queries)
        print(json.dumps(out["memory"]), flush=True)
    return out


def main(args: argparse.Namespace) -> dict[str, Any]:
    # The databases are made outside the event loop (migrations run their own).
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as folder:
        tmp = Path(folder)
        with databases(args.backend, tmp) as db:
            # uvloop, as uvicorn runs the API (and, embedded, `conjure up` its worker)
            result: dict[str, Any] = {}

            async def main_run() -> None:
                result.update(await run(args, tmp, db))

            serve_on_worker_loop(main_run())
            return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument(
        "--warm-rounds", type=int, default=1, help="bursts before the measured one (0: a cold process)"
    )
    parser.add_argument(
        "--steady-messages",
        type=int,
        default=0,
        help="each conversation sends this many messages as people chat (0: one burst at one instant)",
    )
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backend", choices=["embedded", "pg_redis"], default="embedded")
    parser.add_argument("--skip-meditation", action="store_true")
    parser.add_argument(
        "--in-process-worker", action="store_true", help="pg_redis: API and worker in one process"
    )
    parser.add_argument("--parts", default="chat,delegation,meditation,memory")
    parser.add_argument("--out", default=None)
    arguments = parser.parse_args()
    result = main(arguments)
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / (arguments.out or f"assistant-{arguments.backend}.json")
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
