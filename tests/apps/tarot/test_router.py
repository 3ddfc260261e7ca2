"""The tarot routes end to end: HTTP → job → embedded worker → pipeline → tarot_readings, wallet settled."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from conjure.app import create_app
from conjure.apps.tarot.models import TarotReading
from conjure.apps.tarot.pipeline import packaged_prompt_version
from conjure.jobs.models import Job
from conjure.jobs.worker import start_embedded
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import User
from tests.ai.fakes import Reply, fake_model_server
from tests.apps.tarot.conftest import step_answer
from tests.factories import auth_headers, make_user

QUESTION = "Will I get the new job I interviewed for?"


@dataclass
class Api:
    runtime: Runtime
    client: httpx.AsyncClient

    async def user(self, stars: int = 2) -> tuple[User, dict[str, str]]:
        user = await make_user(self.runtime, stars=stars)
        return user, auth_headers(self.runtime, user)

    async def read(self, headers: dict[str, str], question: str = QUESTION, **kw: Any) -> httpx.Response:
        return await self.client.post(
            "/api/v1/tarot/read", json={"question": question}, headers=headers, **kw
        )

    async def wait(self, job_id: str, headers: dict[str, str], timeout: float = 20.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            response = await self.client.get(f"/api/v1/reading/{job_id}", headers=headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] in ("succeeded", "failed", "dlq", "canceled"):
                return body
            assert asyncio.get_running_loop().time() < deadline, body
            await asyncio.sleep(0.05)

    async def wallet(self, user: User) -> tuple[int, int]:
        async with self.runtime.db.session() as session:
            row = await session.get(User, user.id)
            assert row is not None
            return row.star_balance, row.stars_held

    async def readings_count(self) -> int:
        async with self.runtime.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(TarotReading)) or 0)


async def _api(settings: Settings) -> AsyncIterator[Api]:
    runtime = await Runtime.start(settings)
    stop = await start_embedded(runtime)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(runtime, client)
    finally:
        await stop()
        await runtime.close()


@pytest.fixture
async def api(make_settings: Callable[..., Settings], sqlite_url: str) -> AsyncIterator[Api]:
    async for value in _api(make_settings(database_url=sqlite_url)):
        yield value


async def test_reading_flow_on_both_backends(
    make_settings: Callable[..., Settings], backend: dict[str, str]
) -> None:
    async for api in _api(make_settings(**backend)):
        user, headers = await api.user(stars=2)
        response = await api.read(headers)
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["status"] == "queued"
        assert accepted["trace_id"]
        body = await api.wait(accepted["job_id"], headers)
        assert body["status"] == "succeeded", body
        result = body["result"]
        assert result["question"] == QUESTION
        assert result["card_count"] in (3, 5)
        assert len(result["cards"]) == result["card_count"]
        assert set(result["analysis"]) == {"category", "emotion", "timeframe", "themes"}
        assert result["offline"] is True
        assert result["prompt_version"] == packaged_prompt_version()
        assert result["processing_time_ms"] >= 0
        assert result["reading"]
        assert body["progress"]["step"] == "formatting"
        assert await api.wallet(user) == (1, 0)  # one star captured, nothing left held

        history = (await api.client.get("/api/v1/readings", headers=headers)).json()
        assert history["total"] == 1
        [item] = history["items"]
        assert item["job_id"] == accepted["job_id"]
        assert [c["name"] for c in item["cards"]] == [c["name"] for c in result["cards"]]
        async with api.runtime.db.session() as session:
            job = await session.get(Job, uuid.UUID(accepted["job_id"]))
            assert job is not None
            assert job.prompt_version == result["prompt_version"]
            assert job.usage is not None


@pytest.mark.parametrize(
    "question",
    [
        "  short?  ",
        "x" * 181,
        "What about\x07 my job?",
        "Line one\nline two?",
        "",
    ],
)
async def test_bad_questions_are_422_and_cost_nothing(api: Api, question: str) -> None:
    user, headers = await api.user(stars=1)
    response = await api.read(headers, question)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["field"] == "question"
    assert await api.wallet(user) == (1, 0)


@pytest.mark.parametrize(
    "question",
    [
        "  Is it ok?  ",  # exactly 8 after trimming
        "ก" * 40 + "ความรักของฉันจะเป็นอย่างไร" + "ข" * 114,  # 180 characters of Thai
        "Will my café ☕🍰 do well? 🙏✨👩‍👩‍👧",
        ("Please tell me " + "about my career and my love life " * 6)[:180],  # exactly 180
    ],
)
async def test_edge_questions_are_accepted(api: Api, question: str) -> None:
    _, headers = await api.user(stars=1)
    response = await api.read(headers, question)
    assert response.status_code == 202, response.text
    body = await api.wait(response.json()["job_id"], headers)
    assert body["status"] == "succeeded", body
    assert body["result"]["question"] == question.strip()


async def test_thai_question_gets_a_thai_reading(api: Api) -> None:
    _, headers = await api.user()
    response = await api.read(headers, "ความรักของฉันจะเป็นอย่างไรในปีหน้า 💕")
    body = await api.wait(response.json()["job_id"], headers)
    assert body["status"] == "succeeded"
    assert body["result"]["language"] == "th"
    assert "ไพ่" in body["result"]["reading"]


async def test_no_star_is_402(api: Api) -> None:
    user, headers = await api.user(stars=0)
    response = await api.read(headers)
    assert response.status_code == 402
    assert response.json()["code"] == "insufficient_stars"
    assert await api.wallet(user) == (0, 0)


async def test_rejected_question_fails_without_charge_or_retry(
    make_settings: Callable[..., Settings], backend: dict[str, str]
) -> None:
    async for api in _api(make_settings(**backend)):
        await _rejected_question_costs_nothing(api)


async def _rejected_question_costs_nothing(api: Api) -> None:
    user, headers = await api.user(stars=1)
    response = await api.read(headers, "I want to kill myself tonight")
    body = await api.wait(response.json()["job_id"], headers)
    assert body["status"] == "failed"
    assert body["error"]["code"] == "question_not_allowed"
    assert "1323" in body["error"]["message"]
    assert body["result"] is None
    assert await api.wallet(user) == (1, 0)  # hold released, nothing captured
    assert await api.readings_count() == 0
    async with api.runtime.db.session() as session:
        job = await session.get(Job, uuid.UUID(response.json()["job_id"]))
        assert job is not None
        assert job.attempts == 1


async def test_auth_ownership_and_idempotency(api: Api) -> None:
    user, headers = await api.user(stars=3)
    _, other = await api.user()
    assert (await api.client.post("/api/v1/tarot/read", json={"question": QUESTION})).status_code == 401
    key = {"Idempotency-Key": "abc-123"}
    first = await api.read({**headers, **key})
    second = await api.read({**headers, **key})
    assert first.status_code == second.status_code == 202
    assert first.json()["job_id"] == second.json()["job_id"]
    reused = await api.read({**headers, **key}, question="A different question entirely?")
    assert reused.status_code == 409
    job_id = first.json()["job_id"]
    assert (await api.client.get(f"/api/v1/reading/{job_id}", headers=other)).status_code == 404
    assert (await api.client.get(f"/api/v1/reading/{uuid.uuid4()}", headers=headers)).status_code == 404
    await api.wait(job_id, headers)
    assert await api.wallet(user) == (2, 0)  # one reading, one star


async def test_history_is_paginated_newest_first(api: Api) -> None:
    _, headers = await api.user(stars=5)
    questions = [f"Question number {i} about my career?" for i in range(3)]
    for q in questions:
        response = await api.read(headers, q)
        assert (await api.wait(response.json()["job_id"], headers))["status"] == "succeeded"
    page = (await api.client.get("/api/v1/readings?limit=2", headers=headers)).json()
    assert page["total"] == 3
    assert [i["question"] for i in page["items"]] == [questions[2], questions[1]]
    rest = (await api.client.get("/api/v1/readings?limit=2&offset=2", headers=headers)).json()
    assert [i["question"] for i in rest["items"]] == [questions[0]]
    _, other = await api.user()
    assert (await api.client.get("/api/v1/readings", headers=other)).json()["total"] == 0


async def test_model_429_retries_then_succeeds_and_charges_once(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    with fake_model_server() as fake:
        fake.default = Reply(args=step_answer("openai"))
        fake.script = [Reply(status=429)]
        settings = make_settings(
            database_url=sqlite_url, ai_provider="openai", openai_base_url=f"{fake.url}/v1"
        )
        async for api in _api(settings):
            user, headers = await api.user(stars=1)
            response = await api.read(headers)
            body = await api.wait(response.json()["job_id"], headers)
            assert body["status"] == "succeeded", body
            assert body["result"]["provider"] == "openai"
            assert await api.wallet(user) == (0, 0)
            metrics = (await api.client.get("/metrics")).text
            assert 'conjure_model_call_seconds_count{provider="openai",step="read"}' in metrics
            assert 'conjure_model_errors_total{kind="retryable",provider="openai"}' in metrics
            async with api.runtime.db.session() as session:
                job = await session.get(Job, uuid.UUID(response.json()["job_id"]))
                assert job is not None
                assert job.attempts == 2


async def test_malformed_model_output_fails_clearly_and_costs_nothing(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    with fake_model_server(default=Reply(args={"allowed": "maybe"})) as fake:
        settings = make_settings(
            database_url=sqlite_url, ai_provider="gemini", gemini_api_key="g", gemini_base_url=fake.url
        )
        async for api in _api(settings):
            user, headers = await api.user(stars=1)
            response = await api.read(headers)
            body = await api.wait(response.json()["job_id"], headers)
            assert body["status"] == "failed"
            assert body["error"]["code"] == "model_output_invalid"
            assert await api.wallet(user) == (1, 0)
