"""Fixtures for the channels: the provider peer, signing keys, an API with a test app's inbox handler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.app import create_app
from conjure.channels import tokens
from conjure.channels.models import InboundEvent
from conjure.channels.types import RUNTIME_SESSION_KEY, InboundMessage
from conjure.jobs.models import Job
from conjure.jobs.registry import JobContext, JobKind
from conjure.jobs.service import submit_job
from conjure.jobs.worker import start_embedded
from conjure.kit.spec import AppSpec
from conjure.payments.models import ProcessedEvent
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.channels.peers import ProviderPeer, channel_settings


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def forged_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def peer(signing_key: rsa.RSAPrivateKey) -> Iterator[ProviderPeer]:
    server = ProviderPeer(signing_key).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_tokens() -> Iterator[None]:
    """Each test fetches its own access tokens (the cache is per process)."""
    tokens._cache.clear()
    yield
    tokens._cache.clear()


FOLLOW_UP = "inbox_test.follow_up"


async def _follow_up(ctx: JobContext) -> dict[str, Any]:
    return {"followed_up": ctx.payload["message"]}


FOLLOW_UP_KIND = JobKind(name=FOLLOW_UP, handler=_follow_up)


@dataclass
class Inbox:
    """A test app's ``on_inbound_message``: records each message and writes a row with the session
    it is given (``processed_events``, source ``test-inbox``), so the job's transaction is visible."""

    received: list[InboundMessage] = field(default_factory=list)
    runtimes: list[object] = field(default_factory=list)
    fail_times: int = 0
    calls: int = 0
    follow_up: bool = False  # also submit a job of the test app's own, in the same transaction

    async def handle(self, session: AsyncSession, message: InboundMessage) -> None:
        self.calls += 1
        runtime = session.info.get(RUNTIME_SESSION_KEY)
        self.runtimes.append(runtime)
        if self.follow_up:
            assert isinstance(runtime, Runtime)
            payload = {"message": message.provider_message_id}
            await submit_job(session, runtime, user_id=None, kind=FOLLOW_UP, payload=payload)
        session.add(
            ProcessedEvent(source="test-inbox", event_id=message.provider_message_id, type=message.kind)
        )
        await session.flush()
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("the app's handler failed")
        self.received.append(message)


@dataclass
class ChannelsApi:
    runtime: Runtime
    client: httpx.AsyncClient
    inbox: Inbox
    stack: AsyncExitStack

    async def start_worker(self) -> None:
        self.stack.push_async_callback(await start_embedded(self.runtime))

    async def count(self, model: Any, *where: Any) -> int:
        async with self.runtime.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    async def events(self) -> list[InboundEvent]:
        async with self.runtime.db.session() as session:
            return list(
                (await session.scalars(select(InboundEvent).order_by(InboundEvent.received_at))).all()
            )

    async def jobs(self, kind: str = "channels.process") -> list[Job]:
        async with self.runtime.db.session() as session:
            return list((await session.scalars(select(Job).where(Job.kind == kind))).all())

    async def inbox_rows(self) -> int:
        return await self.count(ProcessedEvent, ProcessedEvent.source == "test-inbox")

    async def wait_for(self, check: Callable[[], Any], what: str, timeout: float = 20.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)


OpenApi = Callable[..., Any]


@pytest.fixture
async def open_api(
    make_settings: Callable[..., Settings], peer: ProviderPeer
) -> AsyncIterator[Callable[..., Any]]:
    """``await open_api(**settings)``: the real app with a test app whose inbox handler records."""
    stack = AsyncExitStack()

    async def open_(**overrides: Any) -> ChannelsApi:
        inbox = Inbox()
        spec = AppSpec(name="inbox_test", job_kinds=[FOLLOW_UP_KIND], on_inbound_message=inbox.handle)
        values = {**channel_settings(peer.url), "heartbeat_seconds": 0.5, "job_scheduler_poll_seconds": 0.05}
        runtime = await Runtime.start(make_settings(**{**values, **overrides}), apps=[spec])
        stack.push_async_callback(runtime.close)
        app = create_app(runtime=runtime, apps=[spec])
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        )
        return ChannelsApi(runtime, client, inbox, stack)

    yield open_
    await stack.aclose()


@pytest.fixture
async def api(open_api: Callable[..., Any], backend: dict[str, str]) -> ChannelsApi:
    """The channels API on each backend (SQLite + in-process broker; PostgreSQL + Redis)."""
    result: ChannelsApi = await open_api(**backend)
    return result


@pytest.fixture
async def sqlite_api(open_api: Callable[..., Any], sqlite_url: str) -> ChannelsApi:
    """The channels API on the embedded default only (for checks that refuse before any write)."""
    result: ChannelsApi = await open_api(database_url=sqlite_url)
    return result
