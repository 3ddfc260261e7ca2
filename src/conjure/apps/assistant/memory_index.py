"""Where memories' embeddings are searched: pgvector's HNSW index on PostgreSQL, a sqlite-vec
table on SQLite. One protocol, two stores side by side, one contract test suite.

Both keep the memory's row (content, owner, time, embedding) in ``assistant_memories`` and
search by cosine distance within one person's memories. On SQLite the vectors are indexed by a
sqlite-vec ``vec0`` table of binary-quantized vectors partitioned by user (candidates by Hamming
distance, re-ranked by exact cosine from the rows), written through ``apsw`` (whose SQLite can load
extensions; Python's here cannot) before the row's transaction commits (a vector a rollback leaves
is never matched). That table lives in a file of its own beside the database
(``<db>-memory-vectors.sqlite``), one connection per thread of the pool that runs its calls: two
copies of the SQLite
library must never open the same file in one process, or one's POSIX locks are dropped by the
other and the file is corrupted. Rows are the truth: a search returns only memories whose row is
still there, so a deletion counts at once, and a missing vectors file is rebuilt from the rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import operator
import struct
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import structlog
from sqlalchemy import delete, insert, make_url, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.assistant.models import EMBEDDING_DIMENSIONS, Memory
from conjure.db import after_commit, is_sqlite

if TYPE_CHECKING:
    import apsw

log = structlog.get_logger("conjure.apps.assistant.memory")
VEC_TABLE = "assistant_memory_bits"
# Binary-quantized candidates per result, re-ranked exactly from the rows' float embeddings: a
# Hamming scan of 100,000 bit vectors is ~20x faster than a float scan, and re-ranking restores
# the exact cosine order among the candidates.
OVERSAMPLE, MIN_CANDIDATES = 10, 100
BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Hit:
    """A memory found near a query: its row's fields and its cosine distance (0 = same direction)."""

    id: uuid.UUID
    content: str
    category: str
    created_at: dt.datetime
    distance: float


@dataclass(frozen=True)
class NewMemory:
    user_id: uuid.UUID
    content: str
    category: str
    embedding: Sequence[float]
    source_message_id: uuid.UUID | None
    created_at: dt.datetime
    id: uuid.UUID


class MemoryIndex(Protocol):
    async def add(self, session: AsyncSession, memory: NewMemory) -> None:
        """Store the memory in the caller's transaction (searchable once it commits)."""

    async def search(
        self, session: AsyncSession, user_id: uuid.UUID, vector: Sequence[float], limit: int
    ) -> list[Hit]:
        """The user's ``limit`` memories nearest to ``vector``, nearest first."""

    async def forget(self, session: AsyncSession, user_id: uuid.UUID, memory_id: uuid.UUID) -> bool:
        """Delete the user's memory; False when there is no such memory of theirs."""


def _vector_text(vector: Sequence[float]) -> str:
    return "[" + ",".join(f"{v:.7g}" for v in vector) + "]"


def _dot(query: Sequence[float], blob: bytes) -> float:
    """Cosine of unit vectors: the dot product with a stored float32 embedding."""
    stored: tuple[float, ...] = struct.unpack(f"<{len(blob) // 4}f", blob)
    return float(sum(map(operator.mul, query, stored)))


def _vector_bytes(vector: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


async def _delete_row(session: AsyncSession, user_id: uuid.UUID, memory_id: uuid.UUID) -> bool:
    result = await session.execute(
        delete(Memory).where(Memory.id == memory_id, Memory.user_id == user_id).returning(Memory.id)
    )
    return result.first() is not None


class PgVectorIndex:
    """pgvector: ``embedding <=> query`` over the HNSW (cosine) index, filtered to one user."""

    # Candidates the HNSW scan keeps; iterative scans (pgvector 0.8) go on past a filter that
    # removed the nearest ones (other users' memories), so one user's top-k is always complete.
    ef_search = 100

    async def add(self, session: AsyncSession, memory: NewMemory) -> None:
        await session.execute(
            text(
                "INSERT INTO assistant_memories"
                " (id, user_id, content, category, source_message_id, embedding, created_at)"
                " VALUES (:id, :user_id, :content, :category, :source,"
                " CAST(CAST(:embedding AS text) AS vector), :created_at)"
            ),
            {
                "id": memory.id,
                "user_id": memory.user_id,
                "content": memory.content,
                "category": memory.category,
                "source": memory.source_message_id,
                "embedding": _vector_text(memory.embedding),
                "created_at": memory.created_at,
            },
        )

    async def search(
        self, session: AsyncSession, user_id: uuid.UUID, vector: Sequence[float], limit: int
    ) -> list[Hit]:
        # Both settings for this transaction in one round trip (SET takes one setting a statement).
        await session.execute(
            text(
                "SELECT set_config('hnsw.ef_search', :ef, true),"
                " set_config('hnsw.iterative_scan', 'relaxed_order', true)"
            ),
            {"ef": str(int(self.ef_search))},
        )
        rows = await session.execute(
            text(
                "SELECT id, content, category, created_at, distance FROM ("
                " SELECT id, content, category, created_at,"
                " embedding <=> CAST(CAST(:query AS text) AS vector) AS distance"
                " FROM assistant_memories WHERE user_id = :user_id"
                " ORDER BY distance LIMIT :limit) AS near ORDER BY distance"
            ),
            {"query": _vector_text(vector), "user_id": user_id, "limit": limit},
        )
        return [
            Hit(row.id, row.content, row.category, _utc(row.created_at), float(row.distance)) for row in rows
        ]

    async def forget(self, session: AsyncSession, user_id: uuid.UUID, memory_id: uuid.UUID) -> bool:
        return await _delete_row(session, user_id, memory_id)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class SqliteVecIndex:
    """sqlite-vec: a ``vec0`` table (cosine, partitioned by user) beside the rows, in the same file."""

    def __init__(self, database_url: str) -> None:
        database = Path(make_url(database_url).database or "conjure.db")
        self.path = str(database.with_name(f"{database.stem}-memory-vectors.sqlite"))
        self._ready = False
        self._ready_lock = asyncio.Lock()
        self._local = threading.local()

    def _connect(self) -> apsw.Connection:
        """This thread's connection (opened once: opening and loading sqlite-vec cost more than a search)."""
        conn: apsw.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        return conn

    def _open(self) -> apsw.Connection:
        import apsw
        import sqlite_vec  # type: ignore[import-untyped]

        conn = apsw.Connection(self.path)
        conn.set_busy_timeout(BUSY_TIMEOUT_MS)
        conn.enable_load_extension(True)
        conn.load_extension(sqlite_vec.loadable_path())
        conn.enable_load_extension(False)
        return conn

    def _create(self) -> bool:
        """Create the vec0 table; True when it was not there (so it needs the rows' vectors)."""
        conn = self._connect()
        with conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (VEC_TABLE,)
            ).fetchall()
            conn.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {VEC_TABLE} USING vec0("
                f"user_id text partition key, embedding bit[{EMBEDDING_DIMENSIONS}], +memory_id text)"
            )
        return not found

    def _insert_many(self, rows: Sequence[tuple[str, bytes, str]]) -> None:
        conn = self._connect()
        with conn:
            conn.executemany(
                f"INSERT INTO {VEC_TABLE} (user_id, embedding, memory_id)"
                " VALUES (?, vec_quantize_binary(?), ?)",
                rows,
            )

    async def _ensure(self, session: AsyncSession) -> None:
        """The vec0 table exists, with every stored memory's vector (rebuilt from the rows if new)."""
        if self._ready:
            return
        async with self._ready_lock:
            if self._ready:
                return
            if await asyncio.to_thread(self._create):
                rows = await session.execute(select(Memory.user_id, Memory.embedding, Memory.id))
                batch = [(user_id.hex, cast(bytes, blob), memory_id.hex) for user_id, blob, memory_id in rows]
                if batch:
                    await asyncio.to_thread(self._insert_many, batch)
            self._ready = True

    def _run(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        conn = self._connect()
        with conn:
            rows = list(conn.execute(sql, params).fetchall())
        return rows

    async def add(self, session: AsyncSession, memory: NewMemory) -> None:
        await self._ensure(session)
        blob = _vector_bytes(memory.embedding)
        await session.execute(
            insert(Memory).values(
                id=memory.id,
                user_id=memory.user_id,
                content=memory.content,
                category=memory.category,
                source_message_id=memory.source_message_id,
                embedding=blob,
                created_at=memory.created_at,
            )
        )
        # Before the row's commit: once the memory is listed it is found, by the next message's
        # answer and by this transaction's next fact (a near copy replaces it). A vector whose row
        # rolls back stays behind unmatched (a search keeps only rows that exist); one that cannot
        # be written fails the transaction instead of storing a memory no search would find.
        await asyncio.to_thread(self._insert_many, [(memory.user_id.hex, blob, memory.id.hex)])

    async def search(
        self, session: AsyncSession, user_id: uuid.UUID, vector: Sequence[float], limit: int
    ) -> list[Hit]:
        await self._ensure(session)
        candidates = max(limit * OVERSAMPLE, MIN_CANDIDATES)
        near = await asyncio.to_thread(
            self._run,
            f"SELECT memory_id FROM {VEC_TABLE}"
            " WHERE embedding MATCH vec_quantize_binary(?) AND k = ? AND user_id = ?",
            (_vector_bytes(vector), candidates, user_id.hex),
        )
        ids = [uuid.UUID(memory_id) for (memory_id,) in near]
        if not ids:
            return []
        rows = await session.execute(
            select(Memory.id, Memory.content, Memory.category, Memory.created_at, Memory.embedding).where(
                Memory.id.in_(ids), Memory.user_id == user_id
            )
        )
        query = list(vector)
        hits = [
            Hit(row.id, row.content, row.category, row.created_at, 1.0 - _dot(query, row.embedding))
            for row in rows
        ]
        hits = sorted(hits, key=lambda hit: hit.distance)[:limit]
        return sorted(hits, key=lambda hit: hit.distance)

    async def forget(self, session: AsyncSession, user_id: uuid.UUID, memory_id: uuid.UUID) -> bool:
        if not await _delete_row(session, user_id, memory_id):
            return False

        async def unindex() -> None:
            try:
                await asyncio.to_thread(
                    self._run, f"DELETE FROM {VEC_TABLE} WHERE memory_id = ?", (memory_id.hex,)
                )
            except Exception:
                log.exception("memory_vector_not_removed", memory_id=str(memory_id))

        after_commit(session, unindex)
        return True


def make_index(database_url: str) -> MemoryIndex:
    """The index for this database: sqlite-vec on SQLite, pgvector on PostgreSQL."""
    if is_sqlite(database_url):
        return SqliteVecIndex(database_url)
    return PgVectorIndex()
