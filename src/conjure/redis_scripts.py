"""Lua scripts inside Redis pipelines, without redis-py's extra round trip.

A redis-py pipeline that carries a registered script sends ``SCRIPT EXISTS`` for it and waits for
the answer before it sends anything else: one more round trip per pipeline, and a job's
acknowledgement is such a pipeline (about a fifth of a lone job's latency). Here the pipeline
carries a plain ``EVALSHA``; a server that does not know the script (restarted, flushed) answers
NOSCRIPT for that command alone, and only then is the script run on its own, which loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError


class ScriptedPipeline:
    """Queue commands and scripts on ``pipe``; :meth:`execute` runs them in one round trip."""

    def __init__(self, pipe: Pipeline) -> None:
        self.pipe = pipe
        self._scripts: dict[int, tuple[AsyncScript, Sequence[Any], Sequence[Any]]] = {}

    def script(self, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> None:
        self._scripts[len(self.pipe)] = (script, keys, args)
        self.pipe.evalsha(script.sha, len(keys), *keys, *args)

    async def execute(self, strict: int | None = None) -> list[Any]:
        """Every command's reply in order; once all have run, raises the first error among the
        first ``strict`` commands (all by default): the later ones' errors are their replies."""
        replies: list[Any] = await self.pipe.execute(raise_on_error=False)
        for index, (script, keys, args) in self._scripts.items():
            if isinstance(replies[index], NoScriptError):
                replies[index] = await script(keys=keys, args=args)
        for reply in replies[:strict]:
            if isinstance(reply, Exception):
                raise reply
        return replies
