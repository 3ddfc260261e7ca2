"""Email + password accounts: sign-up, login without an account oracle, rotating refresh tokens."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import jwt
import pytest

from conjure.runtime import Runtime
from tests.auth.conftest import ClientFactory
from tests.factories import auth_headers, make_user

SIGNUP = "/api/v1/auth/signup"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"


async def _signup(client: httpx.AsyncClient, email: str = "Ada@Example.com", **extra: str) -> httpx.Response:
    return await client.post(SIGNUP, json={"email": email, "password": "correct horse", **extra})


async def test_signup_returns_tokens_and_me_works(client: httpx.AsyncClient, runtime: Runtime) -> None:
    created = await _signup(client, name="Ada")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == runtime.settings.access_token_ttl_seconds
    assert body["user"]["email"] == "ada@example.com"  # normalized
    assert body["user"]["star_balance"] == runtime.settings.signup_bonus_stars  # wallet's on_signup ran
    assert created.headers["cache-control"] == "no-store"
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]
    assert "password_hash" not in me.json()


async def test_duplicate_email_is_409(client: httpx.AsyncClient) -> None:
    assert (await _signup(client)).status_code == 201
    again = await _signup(client, email="  ADA@example.com ")
    assert again.status_code == 409
    assert again.json()["code"] == "email_taken"


async def test_signup_validates_email_and_password(client: httpx.AsyncClient) -> None:
    bad = await client.post(SIGNUP, json={"email": "not-an-email", "password": "short"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"email", "password"}


@pytest.mark.parametrize("override", ["\u202e", "\u202d", "\u2066", "\u2069"])
async def test_a_name_with_a_bidi_override_is_refused(client: httpx.AsyncClient, override: str) -> None:
    # "Dao\u202eevil" shows as "Daolive": a name must read as it is stored (the console shows it too).
    body = {"email": "bidi@example.com", "password": "correct horse battery", "name": f"Dao{override}evil"}
    refused = await client.post(SIGNUP, json=body)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["name"]
    thai = await client.post(SIGNUP, json={**body, "name": "ดาว 🌙 مرحبا"})  # scripts and emoji are fine
    assert thai.status_code == 201, thai.text
    assert thai.json()["user"]["name"] == "ดาว 🌙 مرحبا"


async def test_wrong_password_and_unknown_email_answer_the_same(client: httpx.AsyncClient) -> None:
    await _signup(client)
    ok = await client.post(LOGIN, json={"email": "ada@example.com", "password": "correct horse"})
    assert ok.status_code == 200
    assert ok.json()["user"]["email"] == "ada@example.com"

    timings = {}
    answers = {}
    for case, email, password in [
        ("wrong_password", "ada@example.com", "wrong horse"),
        ("unknown_email", "nobody@example.com", "wrong horse"),
    ]:
        # The fastest of three tries, so one scheduling hiccup on a busy machine does not decide it.
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            response = await client.post(LOGIN, json={"email": email, "password": password})
            samples.append(time.perf_counter() - started)
        timings[case] = min(samples)
        answers[case] = (response.status_code, response.json()["code"], response.json()["detail"])
    assert (
        answers["wrong_password"]
        == answers["unknown_email"]
        == (
            401,
            "invalid_credentials",
            "The email or password is not right.",
        )
    )
    # Both run one argon2 verification; an unknown email must not answer in a fraction of the time.
    assert timings["unknown_email"] > timings["wrong_password"] / 4


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient) -> None:
    first = (await _signup(client)).json()
    rotated = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    ).is_success

    replay = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["code"] == "refresh_token_reused"
    # The legitimate-looking newer token of the same family is dead too.
    after = await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401
    assert after.json()["code"] == "invalid_refresh_token"


async def test_logout_revokes_refresh_token(client: httpx.AsyncClient) -> None:
    tokens = (await _signup(client)).json()
    assert (
        await client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 204
    refused = await client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert refused.status_code == 401
    unknown = await client.post(REFRESH, json={"refresh_token": "rt_made_up"})
    assert unknown.json()["code"] == "invalid_refresh_token"


async def test_me_refuses_missing_bad_and_expired_tokens(client: httpx.AsyncClient, runtime: Runtime) -> None:
    from conjure.auth.tokens import issue_access_token

    missing = await client.get("/api/v1/me")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    garbage = await client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert garbage.json()["code"] == "invalid_token"
    user = await make_user(runtime)
    expired = issue_access_token(runtime.settings, user.id, ttl_seconds=-60)
    answer = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_expired"
    assert (await client.get("/api/v1/me", headers=auth_headers(runtime, user))).status_code == 200
    # An unsigned token naming Conjure as issuer, and one signed with another secret, are refused.
    claims = {"iss": "conjure", "sub": str(user.id), "typ": "access", "iat": 1, "exp": 4_000_000_000}
    unsigned = jwt.encode(claims, None, algorithm="none")
    for forged in (unsigned, jwt.encode(claims, "x" * 32, algorithm="HS256")):
        answer = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
        assert answer.json()["code"] == "invalid_token"


async def test_concurrent_refreshes_of_one_token_give_one_pair(
    backend: dict[str, str], api: ClientFactory
) -> None:
    async with api(**backend) as (client, _):
        tokens = (await _signup(client)).json()
        answers = await asyncio.gather(
            *(client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}) for _ in range(6))
        )
        winners = [a for a in answers if a.status_code == 200]
        assert len(winners) == 1, [a.text for a in answers]
        # The first replay revokes the family; replays after that find a revoked token.
        codes = {a.json()["code"] for a in answers if a.status_code != 200}
        assert "refresh_token_reused" in codes
        assert codes <= {"refresh_token_reused", "invalid_refresh_token"}
        # The replays revoked the family, the winner's fresh token included.
        late = await client.post(REFRESH, json={"refresh_token": winners[0].json()["refresh_token"]})
        assert late.status_code == 401


@pytest.mark.parametrize("code", ["AB\x00CDEFG", "\x00", "ABCD\ud800"])
async def test_an_invite_code_the_database_cannot_store_is_422_on_every_backend(
    backend: dict[str, str], api: ClientFactory, code: str
) -> None:
    # PostgreSQL refuses NUL (and a lone surrogate) in text; SQLite would look the code up and
    # call it unknown. Both answer the same: the field is wrong, and no account was made.
    async with api(**backend) as (client, _):
        body = {"email": "nul@example.com", "password": "correct horse", "invite_code": code}
        # Sent as JSON escapes (\\u0000, \\ud800), as a browser or any JSON library would send them.
        raw = json.dumps(body, ensure_ascii=True)
        refused = await client.post(SIGNUP, content=raw, headers={"content-type": "application/json"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "validation_error"
        assert [e["field"] for e in refused.json()["errors"]] == ["invite_code"]
        # Space around a pasted code is still forgiven, and the sign-up was not half made.
        accepted = await _signup(client, email="nul@example.com", invite_code=" \tNOSUCHCODE\n")
        assert accepted.status_code == 201, accepted.text
