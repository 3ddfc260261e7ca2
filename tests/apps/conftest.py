"""Fixtures for app tests: an API with a runtime and a worker on demand (webhooks: tests/receivers.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conjure.app import create_app
from conjure.apps import installed_apps
from conjure.jobs.models import Job
from conjure.jobs.worker import start_embedded
from conjure.kit.spec import AppSpec
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import User
from tests.factories import auth_headers, make_user


@dataclass
class Api:
    """One API over one runtime; ``start_worker`` runs a worker and the scheduler in-process."""

    runtime: Runtime
    client: httpx.AsyncClient
    stack: AsyncExitStack = field(repr=False)

    async def user(self, stars: int = 2) -> tuple[User, dict[str, str]]:
        user = await make_user(self.runtime, stars=stars)
        return user, auth_headers(self.runtime, user)

    async def start_worker(self) -> None:
        stop = await start_embedded(self.runtime)
        self.stack.push_async_callback(stop)

    async def job(self, job_id: str | uuid.UUID) -> Job:
        async with self.runtime.db.session() as session:
            job = await session.get(Job, uuid.UUID(str(job_id)))
            assert job is not None
            return job

    async def balances(self, user: User) -> tuple[int, int]:
        async with self.runtime.db.session() as session:
            row = await session.get(User, user.id)
            assert row is not None
            return row.star_balance, row.stars_held

    async def poll(
        self, path: str, headers: dict[str, str], done: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """GET ``path`` until ``done(body)``; the body of the last answer."""
        deadline = asyncio.get_running_loop().time() + 30.0
        while True:
            response = await self.client.get(path, headers=headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if done(body):
                return body
            assert asyncio.get_running_loop().time() < deadline, body
            await asyncio.sleep(0.05)


MakeApi = Callable[..., Awaitable[Api]]


@pytest.fixture
async def make_api(make_settings: Callable[..., Settings]) -> AsyncIterator[MakeApi]:
    """``await make_api(apps=..., **settings)``: an API (installed apps by default) closed at the end."""
    async with AsyncExitStack() as stack:

        async def make(*, apps: Sequence[AppSpec] | None = None, **overrides: Any) -> Api:
            chosen = list(installed_apps() if apps is None else apps)
            runtime = await Runtime.start(make_settings(**overrides), apps=chosen)
            stack.push_async_callback(runtime.close)
            transport = httpx.ASGITransport(app=create_app(runtime=runtime, apps=chosen))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://test")
            )
            api_stack = await stack.enter_async_context(AsyncExitStack())
            return Api(runtime, client, api_stack)

        yield make
