"""Assistant fixtures: the API with an embedded worker, helpers to follow a message to its answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from conjure.apps.assistant.responders import Responder
from conjure.apps.assistant.settings import AssistantSettings
from conjure.events.types import START
from tests.apps.assistant.openai_peer import OpenAIPeer
from tests.apps.conftest import Api, MakeApi


class Chat:
    """One API with a worker, and a signed-in person."""

    def __init__(self, api: Api, headers: dict[str, str], user_id: uuid.UUID) -> None:
        self.api, self.headers, self.user_id = api, headers, user_id

    @property
    def client(self) -> Any:
        return self.api.client

    async def conversation(self, title: str | None = None) -> str:
        response = await self.client.post(
            "/api/v1/assistant/conversations", json={"title": title}, headers=self.headers
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def send(
        self, conversation: str, content: str, *, language: str | None = None, **headers: str
    ) -> dict[str, Any]:
        body = {"content": content} if language is None else {"content": content, "language": language}
        response = await self.client.post(
            f"/api/v1/assistant/conversations/{conversation}/messages",
            json=body,
            headers={**self.headers, **headers},
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    async def events(self, type_: str, *, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The data of this person's ``type_`` events, once there are ``count``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            sent = await self.api.runtime.user_events.replay(self.user_id, START)
            found = [event.payload() for event in sent if event.type == type_]
            if len(found) >= count:
                return found
            assert loop.time() < deadline, f"{len(found)} {type_} events, expected {count}"
            await asyncio.sleep(0.02)

    async def poll_memories(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        """This person's memories once ``done(items)``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            response = await self.client.get("/api/v1/assistant/memories", headers=self.headers)
            items: list[dict[str, Any]] = response.json()["items"]
            if done(items):
                return items
            assert loop.time() < deadline, items
            await asyncio.sleep(0.05)

    async def answered(self, conversation: str, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The conversation's messages once ``count`` answers are stored."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            response = await self.client.get(
                f"/api/v1/assistant/conversations/{conversation}/messages?limit=100", headers=self.headers
            )
            items: list[dict[str, Any]] = response.json()["items"]
            if sum(item["role"] == "assistant" for item in items) >= count:
                return items
            assert loop.time() < deadline, items
            await asyncio.sleep(0.05)


def use_responder(api: Api, responder: Responder) -> None:
    """Answer with ``responder`` in this runtime (the router's place, as the job finds it)."""
    api.runtime.settings.for_app(AssistantSettings)._responder = responder


@pytest.fixture
async def chat(make_api: MakeApi, backend: dict[str, str]) -> Chat:
    api = await make_api(**backend)
    await api.start_worker()
    user, headers = await api.user(stars=3)
    return Chat(api, headers, user.id)


@pytest.fixture
def local_peer() -> Iterator[OpenAIPeer]:
    """The local model's server (llama.cpp-like)."""
    peer = OpenAIPeer().start()
    yield peer
    peer.stop()


@pytest.fixture
def api_peer() -> Iterator[OpenAIPeer]:
    """The API fallback's server (OpenAI-like)."""
    peer = OpenAIPeer(model="gpt-4o-mini", reply="Hello from the API model.").start()
    yield peer
    peer.stop()


def hybrid(local: OpenAIPeer, api: OpenAIPeer | None = None, **overrides: Any) -> dict[str, Any]:
    """Settings for the local model at ``local`` and, if given, the API fallback at ``api``."""
    values: dict[str, Any] = {"assistant_local_base_url": local.url, **overrides}
    if api is not None:
        values.update(ai_provider="openai", openai_base_url=f"{api.url}/v1", openai_api_key="sk-test")
    return values


MakeChat = Callable[..., Awaitable[Chat]]


@pytest.fixture
async def make_chat(make_api: MakeApi, sqlite_url: str) -> MakeChat:
    """``await make_chat(**settings)``: a Chat on the embedded default with a worker."""

    async def make(**overrides: Any) -> Chat:
        api = await make_api(database_url=overrides.pop("database_url", sqlite_url), **overrides)
        await api.start_worker()
        user, headers = await api.user(stars=3)
        return Chat(api, headers, user.id)

    return make
