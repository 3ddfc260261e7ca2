"""Broker interface (placeholder until the job engine lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from conjure.runtime import Runtime


class Broker(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...


class InProcessBroker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None


class RedisBroker(InProcessBroker):
    async def ping(self) -> None:
        assert self.runtime.redis is not None
        await self.runtime.redis.ping()


def make_broker(runtime: Runtime) -> Broker:
    return RedisBroker(runtime) if runtime.redis is not None else InProcessBroker(runtime)
