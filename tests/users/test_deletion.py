"""Account deletion and data export, end to end: real readings, images and staged photos, then erased."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Any

import httpx
import jwt
from sqlalchemy import func, select, update

from conjure.apps.imagegen.models import Generation
from conjure.apps.staging.models import Project, StagedImage
from conjure.apps.tarot.models import TarotReading
from conjure.auth.models import RefreshToken
from conjure.auth.service import issue_tokens
from conjure.auth.tokens import issue_access_token
from conjure.db import utcnow
from conjure.jobs.models import Job
from conjure.users.models import User, UserIdentity
from conjure.wallet.consistency import check_consistency
from conjure.wallet.models import WalletTransaction
from conjure.wallet.service import grant
from tests.apps.staging.conftest import Api, StartApi, room_photo

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery"
QUESTION = "Will I get the new job I interviewed for?"
PROMPT = "a tiny robot reading tarot cards"


async def _wait_job(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = (await client.get(url, headers=headers)).json()
        status = body.get("job_status", body.get("status"))  # the reading route names both
        if status in ("succeeded", "failed", "dlq", "canceled"):
            assert status == "succeeded", body
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.1)


async def _use_every_app(api: Api, headers: dict[str, str]) -> None:
    """A reading, a generated image and a staged photo, each finished by the worker."""
    client = api.client
    reading = await client.post("/api/v1/tarot/read", json={"question": QUESTION}, headers=headers)
    assert reading.status_code == 202, reading.text
    await _wait_job(client, f"/api/v1/reading/{reading.json()['job_id']}", headers)
    image = await client.post("/api/generation", json={"prompt": PROMPT}, headers=headers)
    assert image.status_code == 202, image.text
    await _wait_job(client, f"/api/generation/{image.json()['job_id']}", headers)
    project = await api.project(headers)
    key = await api.upload(headers, room_photo())
    body = {"project_id": project, "upload_key": key, "room_type": "living_room", "style": "scandinavian"}
    staged = await client.post("/api/v1/images", json=body, headers=headers)
    assert staged.status_code == 202, staged.text
    assert (await api.wait_image(staged.json()["image_id"], headers))["status"] == "ready"


async def _stored_keys(api: Api, user_id: uuid.UUID) -> list[str]:
    async with api.runtime.db.session() as session:
        keys = list(
            (
                await session.execute(select(Generation.object_key).where(Generation.user_id == user_id))
            ).scalars()
        )
        for image in (
            await session.execute(select(StagedImage).where(StagedImage.user_id == user_id))
        ).scalars():
            keys += [k for k in (image.original_key, image.staged_key, image.thumbnail_key) if k]
    return keys


async def _count(api: Api, model: Any, user_id: uuid.UUID) -> int:
    async with api.runtime.db.session() as session:
        return int(
            await session.scalar(select(func.count()).select_from(model).where(model.user_id == user_id)) or 0
        )


async def test_export_then_delete_erases_personal_data_and_objects_and_keeps_the_ledger(
    start_api: StartApi, stack: dict[str, Any]
) -> None:
    api = await start_api(**stack, rate_limit_default="10000/minute")
    client = api.client
    signed = await client.post(
        "/api/v1/auth/signup", json={"email": EMAIL, "password": PASSWORD, "name": "Ada"}
    )
    assert signed.status_code == 201, signed.text
    tokens = signed.json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    user_id = uuid.UUID(tokens["user"]["id"])
    async with api.runtime.db.session() as session:
        await grant(session, user_id, currency="star", amount=5, reason="test stars")
    await _use_every_app(api, headers)
    key = (await client.post("/api/v1/auth/api-keys", json={"name": "script"}, headers=headers)).json()["key"]

    export = await client.get("/api/v1/me/export", headers=headers)
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    data = export.json()
    assert data["profile"]["email"] == EMAIL
    assert [i["provider"] for i in data["identities"]] == ["password"]
    assert data["apps"]["tarot"]["readings"][0]["question"] == QUESTION
    assert data["apps"]["imagegen"]["generations"][0]["prompt"] == PROMPT
    assert len(data["apps"]["staging"]["images"]) == 1
    assert {job["kind"] for job in data["jobs"]} == {"tarot.reading", "imagegen.generate", "staging.stage"}
    assert data["ledger"][-1]["balance_after"] == 3 + 5 - 3  # bonus + grant - three jobs

    keys = await _stored_keys(api, user_id)
    assert len(keys) >= 4
    assert all([await api.runtime.storage.exists(k) for k in keys])
    async with api.runtime.db.session() as session:
        ledger_rows = await session.scalar(
            select(func.count()).select_from(WalletTransaction).where(WalletTransaction.user_id == user_id)
        )

    no_password = await client.request("DELETE", "/api/v1/me", headers=headers)
    wrong = await client.request("DELETE", "/api/v1/me", json={"password": "not it at all"}, headers=headers)
    assert (no_password.status_code, no_password.json()["code"]) == (403, "reauthentication_required")
    assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_password")
    deleted = await client.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=headers)
    assert deleted.status_code == 204, deleted.text

    # Every way in is closed at once.
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})).status_code == 401
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401
    login = await client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert login.status_code == 401
    # Personal data and stored objects are gone.
    for model in (TarotReading, Generation, StagedImage, Project, UserIdentity):
        assert await _count(api, model, user_id) == 0, model
    assert not any([await api.runtime.storage.exists(k) for k in keys])
    async with api.runtime.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        assert (user.email, user.name, user.password_hash, user.deleted_at is not None) == (
            None,
            None,
            None,
            True,
        )
        jobs = list((await session.execute(select(Job).where(Job.user_id == user_id))).scalars())
        assert len(jobs) == 3
        assert all(job.payload == {} and job.result is None for job in jobs)
        # The ledger stays, whole and balanced, for accounting.
        kept = await session.scalar(
            select(func.count()).select_from(WalletTransaction).where(WalletTransaction.user_id == user_id)
        )
        assert kept == ledger_rows
        assert await check_consistency(session) == []
    # The address is free again.
    again = await client.post("/api/v1/auth/signup", json={"email": EMAIL, "password": PASSWORD})
    assert again.status_code == 201
    assert again.json()["user"]["id"] != str(user_id)


def _token_issued_ago(api: Api, user_id: uuid.UUID, seconds: int) -> str:
    now = int(time.time())
    claims = {"iss": "conjure", "sub": str(user_id), "iat": now - seconds, "exp": now + 3600, "typ": "access"}
    return jwt.encode(claims, api.runtime.settings.signing_secret, algorithm="HS256")


async def test_an_account_without_a_password_needs_a_fresh_sign_in(
    start_api: StartApi, sqlite_url: str
) -> None:
    api = await start_api(database_url=sqlite_url)
    user, _ = await api.user()
    async with api.runtime.db.session() as session:
        row = await session.get(User, user.id)
        assert row is not None
        row.password_hash = None  # a Telegram or provider account has none
    stale = {"Authorization": f"Bearer {_token_issued_ago(api, user.id, 600)}"}
    key = (await api.client.post("/api/v1/auth/api-keys", json={"name": "k"}, headers=stale)).json()["key"]
    by_key = await api.client.request("DELETE", "/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    refused = await api.client.request("DELETE", "/api/v1/me", headers=stale)
    assert (refused.status_code, refused.json()["code"]) == (403, "reauthentication_required")
    assert (by_key.status_code, by_key.json()["code"]) == (403, "reauthentication_required")
    fresh = {"Authorization": f"Bearer {issue_access_token(api.runtime.settings, user.id)}"}
    assert (await api.client.request("DELETE", "/api/v1/me", headers=fresh)).status_code == 204
    assert (await api.client.get("/api/v1/me", headers=stale)).status_code == 401


async def test_a_refreshed_token_does_not_count_as_a_fresh_sign_in(
    start_api: StartApi, sqlite_url: str
) -> None:
    api = await start_api(database_url=sqlite_url)
    user, _ = await api.user()
    async with api.runtime.db.session() as session:
        row = await session.get(User, user.id)
        assert row is not None
        pair = await issue_tokens(session, api.runtime.settings, row)
        # The sign-in that started this refresh family was ten minutes ago.
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user.id)
            .values(created_at=utcnow() - dt.timedelta(minutes=10))
        )
    refreshed = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": pair.refresh_token})
    assert refreshed.status_code == 200, refreshed.text
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    refused = await api.client.request("DELETE", "/api/v1/me", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "reauthentication_required")
    assert (await api.client.get("/api/v1/me", headers=headers)).status_code == 200
