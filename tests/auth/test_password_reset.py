"""Password reset by email: the request answers the same for every address, the link's token works
once and within its time, and setting a password ends every other session."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import httpx
import pytest
from sqlalchemy import delete, select, update

from conjure.auth.models import PasswordReset
from conjure.auth.tokens import hash_secret
from conjure.jobs.models import Job
from conjure.mail.service import SEND_KIND
from conjure.runtime import Runtime
from conjure.users.models import IdentityProvider, UserIdentity
from tests.auth.conftest import ClientFactory

SIGNUP, LOGIN, REFRESH = "/api/v1/auth/signup", "/api/v1/auth/login", "/api/v1/auth/refresh"
RESET, CONFIRM = "/api/v1/auth/password-reset", "/api/v1/auth/password-reset/confirm"
BASE = "https://conjure.example"
OLD, NEW = "old password 1", "new password 2"


async def _signup(client: httpx.AsyncClient, email: str = "ada@example.com") -> dict[str, str]:
    answer = await client.post(SIGNUP, json={"email": email, "password": OLD})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _emails(runtime: Runtime) -> list[dict[str, str]]:
    """The queued reset emails (the jobs' payloads: no worker runs in these tests)."""
    async with runtime.db.session() as session:
        jobs = await session.scalars(select(Job).where(Job.kind == SEND_KIND).order_by(Job.created_at))
        return [dict(job.payload) for job in jobs]


def _token(email: dict[str, str]) -> str:
    found = re.search(rf"{re.escape(BASE)}/reset-password#token=([A-Za-z0-9_-]+)", email["text"])
    assert found is not None, email["text"]
    return found.group(1)


async def test_a_reset_sets_the_password_once_and_ends_every_session(api: ClientFactory) -> None:
    async with api(public_base_url=BASE) as (client, runtime):
        session = await _signup(client)
        answer = await client.post(RESET, json={"email": " Ada@Example.com"})
        assert answer.status_code == 202
        [email] = await _emails(runtime)
        assert email["to"] == "ada@example.com"
        assert email["subject"] == "Reset your Conjure password"
        token = _token(email)
        async with runtime.db.session() as db:
            [row] = (await db.scalars(select(PasswordReset))).all()
        assert row.token_hash == hash_secret(token)  # only the hash is stored
        assert row.expires_at - row.created_at == dt.timedelta(seconds=3600)

        assert (await client.post(CONFIRM, json={"token": token, "password": NEW})).status_code == 204
        assert (
            await client.post(LOGIN, json={"email": "ada@example.com", "password": NEW})
        ).status_code == 200
        old = await client.post(LOGIN, json={"email": "ada@example.com", "password": OLD})
        assert old.json()["code"] == "invalid_credentials"
        # The session made before the reset can no longer be refreshed.
        refreshed = await client.post(REFRESH, json={"refresh_token": session["refresh_token"]})
        assert refreshed.status_code == 401
        # The token worked once.
        again = await client.post(CONFIRM, json={"token": token, "password": "third password"})
        assert again.status_code == 400
        assert again.json()["code"] == "invalid_reset_token"
        assert again.headers["content-type"] == "application/problem+json"


async def test_an_unknown_address_gets_the_same_answer_and_no_email(api: ClientFactory) -> None:
    async with api() as (client, runtime):
        await _signup(client)
        unknown = await client.post(RESET, json={"email": "nobody@example.com"})
        assert unknown.status_code == 202
        assert unknown.content == b""
        assert await _emails(runtime) == []


async def test_a_deleted_account_gets_no_email(api: ClientFactory) -> None:
    async with api() as (client, runtime):
        tokens = await _signup(client)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        deleted = await client.request("DELETE", "/api/v1/me", json={"password": OLD}, headers=headers)
        assert deleted.status_code == 204, deleted.text
        assert (await client.post(RESET, json={"email": "ada@example.com"})).status_code == 202
        assert await _emails(runtime) == []


async def test_the_email_is_in_thai_when_asked(api: ClientFactory) -> None:
    async with api(public_base_url=BASE) as (client, runtime):
        await _signup(client)
        assert (
            await client.post(RESET, json={"email": "ada@example.com", "language": "th"})
        ).status_code == 202
        [email] = await _emails(runtime)
        assert email["subject"] == "ตั้งรหัสผ่าน Conjure ใหม่"
        assert "ลิงก์ใช้ได้ครั้งเดียว ภายใน 60 นาที" in email["text"]
        _token(email)
        bad = await client.post(RESET, json={"email": "ada@example.com", "language": "fr"})
        assert bad.status_code == 422


async def test_a_new_password_spends_every_other_link_of_the_account(api: ClientFactory) -> None:
    async with api(public_base_url=BASE) as (client, runtime):
        await _signup(client)
        for _ in range(2):
            assert (await client.post(RESET, json={"email": "ada@example.com"})).status_code == 202
        first, second = [_token(email) for email in await _emails(runtime)]
        assert first != second
        assert (await client.post(CONFIRM, json={"token": second, "password": NEW})).status_code == 204
        older = await client.post(CONFIRM, json={"token": first, "password": "third password"})
        assert older.json()["code"] == "invalid_reset_token"


async def test_an_expired_or_unknown_token_is_one_answer(api: ClientFactory) -> None:
    async with api(public_base_url=BASE) as (client, runtime):
        await _signup(client)
        await client.post(RESET, json={"email": "ada@example.com"})
        [email] = await _emails(runtime)
        async with runtime.db.session() as db:
            past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            await db.execute(update(PasswordReset).values(expires_at=past))
        expired = await client.post(CONFIRM, json={"token": _token(email), "password": NEW})
        unknown = await client.post(CONFIRM, json={"token": "x" * 43, "password": NEW})
        assert expired.status_code == unknown.status_code == 400
        assert expired.json()["code"] == unknown.json()["code"] == "invalid_reset_token"
        assert (
            await client.post(LOGIN, json={"email": "ada@example.com", "password": OLD})
        ).status_code == 200


async def test_a_link_is_void_once_the_account_no_longer_signs_in_with_a_password(api: ClientFactory) -> None:
    async with api(public_base_url=BASE) as (client, runtime):
        await _signup(client)
        await client.post(RESET, json={"email": "ada@example.com"})
        [email] = await _emails(runtime)
        async with runtime.db.session() as db:  # as unlinking the password sign-in does
            await db.execute(delete(UserIdentity).where(UserIdentity.provider == IdentityProvider.PASSWORD))
        answer = await client.post(CONFIRM, json={"token": _token(email), "password": NEW})
        assert answer.status_code == 400
        assert answer.json()["code"] == "invalid_reset_token"


async def test_the_new_password_follows_the_sign_up_rule(api: ClientFactory) -> None:
    async with api(public_base_url=BASE) as (client, runtime):
        await _signup(client)
        await client.post(RESET, json={"email": "ada@example.com"})
        [email] = await _emails(runtime)
        short = await client.post(CONFIRM, json={"token": _token(email), "password": "short"})
        assert short.status_code == 422
        assert [e["field"] for e in short.json()["errors"]] == ["password"]
        # A refused password leaves the token usable.
        assert (await client.post(CONFIRM, json={"token": _token(email), "password": NEW})).status_code == 204


async def test_requests_are_limited_per_account_and_per_ip(api: ClientFactory) -> None:
    async with api(rate_limit_password_reset="2/hour", rate_limit_anonymous="5/minute") as (client, _):
        same = [await client.post(RESET, json={"email": "ada@example.com"}) for _ in range(3)]
        assert [a.status_code for a in same] == [202, 202, 429]
        assert same[-1].json()["scope"] == "password-reset-account"
        # Other addresses have buckets of their own, until the IP's limit (five requests in all).
        other = [await client.post(RESET, json={"email": f"u{i}@example.com"}) for i in range(3)]
        assert [a.status_code for a in other] == [202, 202, 429]
        assert other[-1].json()["scope"] == "anonymous"


async def test_two_confirms_racing_with_one_token_one_wins(
    backend: dict[str, str], api: ClientFactory
) -> None:
    async with api(public_base_url=BASE, **backend) as (client, runtime):
        await _signup(client, "racer@example.com")
        await client.post(RESET, json={"email": "racer@example.com"})
        token = _token((await _emails(runtime))[-1])
        answers = await asyncio.gather(
            client.post(CONFIRM, json={"token": token, "password": "racer one 1"}),
            client.post(CONFIRM, json={"token": token, "password": "racer two 2"}),
        )
        assert sorted(a.status_code for a in answers) == [204, 400], [a.text for a in answers]
        winner = "racer one 1" if answers[0].status_code == 204 else "racer two 2"
        login = await client.post(LOGIN, json={"email": "racer@example.com", "password": winner})
        assert login.status_code == 200


@pytest.mark.parametrize("body", [{"email": "not an email"}, {}])
async def test_a_malformed_request_is_422(api: ClientFactory, body: dict[str, str]) -> None:
    async with api() as (client, _):
        answer = await client.post(RESET, json=body)
        assert answer.status_code == 422
        assert answer.json()["code"] == "validation_error"
