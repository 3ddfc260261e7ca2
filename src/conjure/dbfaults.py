"""Expected database faults: retry what a retry fixes, answer 503 for what it does not.

PostgreSQL aborts a transaction with a *serialization failure* (SQLSTATE 40001) or a *deadlock*
(40P01) when concurrent transactions collide; nothing of it was written, so running the whole
transaction again is safe and usually succeeds (:func:`retry_transaction`, a few tries with
jitter). A database that cannot be reached (connection refused, PostgreSQL restarting or shutting
down, a pooled connection that died, a full pool) is an outage, not a bug: HTTP answers 503
``service_unavailable`` with ``Retry-After`` (:class:`DatabaseFaultMiddleware`) and it is logged
once at WARNING, without a traceback. Text the database cannot store (NUL, a lone surrogate) that a
route's schema let through answers 422 ``invalid_text``, not 500.

SQLite's "database is locked" / "database table is locked" (SQLITE_BUSY, SQLITE_LOCKED: another
writer held the lock past the busy timeout) is the same kind of fault: the transaction did not
commit (Conjure begins SQLite transactions IMMEDIATE), so it is retried the same way, and a request
still failing answers 503.

Workers retry their own writes the same way (claim, heartbeat, progress steps, settle, park), so
a deadlock costs a job a short wait, never an attempt.

A connection that died mid-transaction is *not* retried: its COMMIT may have landed, and
running the transaction again could write it twice.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conjure.errors import ConjureError, TemporarilyUnavailable, problem_of

log = structlog.get_logger("conjure.dbfaults")
T = TypeVar("T")

# SQLSTATEs after which the whole transaction may simply run again.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
SQLITE_LOCKED_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary codes)
# The server is going away or not accepting connections yet: 57P01 admin_shutdown,
# 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections, class 08.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# Text the database cannot store: NUL in text (22021 character_not_in_repertoire) or in jsonb
# (22P05 untranslatable_character). With a lone surrogate, which asyncpg cannot encode
# (UnicodeEncodeError), it is input a schema let through: a 422, not a 500.
UNSTORABLE_TEXT_SQLSTATES = frozenset({"22021", "22P05"})
# Tries of one transaction in all (the first and the retries), and the first retry's jitter range.
RETRY_ATTEMPTS = 4
RETRY_BASE_SECONDS = 0.02
# A request body up to this size is kept for a retry; a larger one (an upload) gets a 503 instead.
REPLAY_MAX_BYTES = 1 << 20
# What a 503 for a database outage tells clients to wait (PostgreSQL restarts take seconds).
UNAVAILABLE_RETRY_AFTER_SECONDS = 2
# Modules whose OSError is about the database connection (asyncpg's connect, SQLAlchemy's pool).
_DB_MODULES = ("asyncpg", "sqlalchemy")


class DatabaseUnavailable(TemporarilyUnavailable):
    """The database cannot be reached right now (503, ``Retry-After``)."""

    def __init__(self) -> None:
        super().__init__(
            "The service is briefly unavailable; please try again shortly.",
            retry_after=UNAVAILABLE_RETRY_AFTER_SECONDS,
        )


class UnstorableText(ConjureError):
    """Input with characters the database cannot store (422, ``invalid_text``); nothing was written."""

    status = 422
    code = "invalid_text"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what SQLAlchemy wrapped (``orig``) and its causes, each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo.extend([orig if isinstance(orig, BaseException) else None, current.__cause__])


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return state if isinstance(state, str) else None


def _sqlite_locked(exc: BaseException) -> bool:
    """SQLite's SQLITE_BUSY / SQLITE_LOCKED (extended codes included), or its message."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in SQLITE_LOCKED_CODES:
        return True
    message = str(exc).lower()
    return "database is locked" in message or "database table is locked" in message


def is_retryable(exc: BaseException) -> bool:
    """A serialization failure, a deadlock or a locked SQLite database: the transaction did not
    commit and may run again."""
    return any(_sqlstate(e) in RETRYABLE_SQLSTATES or _sqlite_locked(e) for e in _chain(exc))


def is_unstorable_text(exc: BaseException) -> bool:
    """The statement failed on the text it was given (NUL, a lone surrogate)."""
    for e in _chain(exc):
        if _sqlstate(e) in UNSTORABLE_TEXT_SQLSTATES:
            return True
        if isinstance(e, UnicodeEncodeError) and _raised_by_driver(e):
            return True
    return False


def _raised_by_driver(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while the database driver or pool was on the stack."""
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith(_DB_MODULES):
            return True
        tb = tb.tb_next
    return False


def is_unavailable(exc: BaseException) -> bool:
    """The database is down, restarting, out of connections, or the connection died."""
    for e in _chain(exc):
        state = _sqlstate(e)
        if state is not None and (state in UNAVAILABLE_SQLSTATES or state.startswith("08")):
            return True
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, PoolTimeout):
            return True
        if type(e).__name__ in ("ConnectionDoesNotExistError", "InterfaceError") and _raised_by_driver(e):
            # asyncpg: the connection was closed under us (a restart killed it).
            return True
        # OSError (refused, reset, unreachable, connect timeout) only when the driver raised it:
        # an OSError from storage or an HTTP client is not a database outage.
        if isinstance(e, OSError) and _raised_by_driver(e):
            return True
    return False


async def retry_transaction(run: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run ``run`` (one whole transaction) again when it fails with 40001/40P01, with jitter.

    ``run`` must open and commit its own transaction, so a retry starts from nothing written.
    After :data:`RETRY_ATTEMPTS` tries the last error is raised.
    """
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        try:
            return await run()
        except Exception as exc:
            if attempt == RETRY_ATTEMPTS or not is_retryable(exc):
                raise
            log.info("db_transaction_retried", what=what, attempt=attempt, sqlstate=_first_state(exc))
            await asyncio.sleep(random.uniform(0.0, RETRY_BASE_SECONDS * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")  # pragma: no cover


def _first_state(exc: BaseException) -> str | None:
    found = next((s for e in _chain(exc) if (s := _sqlstate(e)) is not None), None)
    if found is None and any(_sqlite_locked(e) for e in _chain(exc)):
        return "sqlite_locked"
    return found


class DatabaseFaultMiddleware:
    """Runs a request again when its transaction hit 40001/40P01 before any response was sent,
    and answers 503 ``service_unavailable`` when the database is unreachable.

    The request is the retried unit because a route's session commits before its response
    starts (``conjure.deps.get_session``): a retryable failure means nothing of it was written,
    and its after-commit effects (dispatch, events) were dropped with the rollback. The request
    body is kept as it is read, so a retry reads it again.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        started = False

        async def send_once(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                await self.app(scope, _replaying(received, receive), send_once)
                return
            except Exception as exc:
                if started:
                    raise
                if is_retryable(exc) and attempt < RETRY_ATTEMPTS and _replayable(received):
                    log.info("db_request_retried", path=scope.get("path"), attempt=attempt)
                    await asyncio.sleep(random.uniform(0.0, RETRY_BASE_SECONDS * 2 ** (attempt - 1)))
                    continue
                if is_unstorable_text(exc):
                    log.info("database_refused_text", path=scope.get("path"), sqlstate=_first_state(exc))
                    refused = UnstorableText("The text has characters that cannot be stored (such as NUL).")
                    await problem_of(refused)(scope, receive, send)
                    return
                if not (is_retryable(exc) or is_unavailable(exc)):
                    raise
                log.warning(
                    "database_unavailable",
                    path=scope.get("path"),
                    error_type=type(exc).__name__,
                    sqlstate=_first_state(exc),
                )
                response = problem_of(DatabaseUnavailable())
                await response(scope, receive, send)
                return


def _replayable(received: list[Message]) -> bool:
    """Whether the body read so far was kept whole (a large upload is not kept for a retry)."""
    return sum(len(m.get("body", b"")) for m in received) <= REPLAY_MAX_BYTES


def _replaying(received: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that first replays the messages an earlier try read, then reads (and keeps) more."""
    index = 0

    async def replay() -> Message:
        nonlocal index
        if index < len(received):
            index += 1
            return received[index - 1]
        message: dict[str, Any] = dict(await receive())
        if _replayable(received):  # past the limit the body is no longer kept (nor retried)
            received.append(message)
            index += 1
        return message

    return replay
