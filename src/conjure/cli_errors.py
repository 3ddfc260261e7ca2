"""One sentence and an exit code for each way a ``conjure`` command can fail (:func:`explain`)."""

from __future__ import annotations

import errno

from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from conjure.errors import ConjureError

FAILED, CONFIG, UNAVAILABLE = 1, 3, 4
_NOT_MIGRATED = ("no such table", "does not exist", "undefinedtable")


def explain(exc: BaseException) -> tuple[str, int]:
    """Why the command stopped, in the operator's words, and the exit code (see ``conjure.cli``)."""
    if isinstance(exc, ConjureError):
        code = CONFIG if exc.code.endswith("not_configured") or exc.status == 503 else FAILED
        return _sentence(exc.message), code
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]).upper() or "a setting"
        return f"The setting {name} is invalid: {first['msg']}.", CONFIG
    if isinstance(exc, ProgrammingError | OperationalError) and any(
        marker in str(exc.orig).lower().replace("_", "") for marker in _NOT_MIGRATED
    ):
        return "The database has no Conjure tables yet: run `conjure migrate` first.", CONFIG
    if isinstance(exc, DBAPIError):
        return (
            f"The database refused the command ({type(exc.orig).__name__}); check DATABASE_URL.",
            UNAVAILABLE,
        )
    if isinstance(exc, RedisConnectionError):
        return "Cannot reach Redis at REDIS_URL; is it running?", UNAVAILABLE
    if isinstance(exc, RedisError):
        return f"Redis refused the command ({type(exc).__name__}).", UNAVAILABLE
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return "A service refused the connection; check DATABASE_URL and REDIS_URL.", UNAVAILABLE
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return "A port this command needs is already in use.", UNAVAILABLE
    if isinstance(exc, RuntimeError) and "must be set" in str(exc):
        return _sentence(str(exc)), CONFIG
    return (
        f"Unexpected error ({type(exc).__name__}): {_sentence(str(exc)) or 'no detail'} "
        "Run with LOG_LEVEL=DEBUG for the traceback.",
        FAILED,
    )


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."
