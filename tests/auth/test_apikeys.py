"""API keys: database keys (shown once, hashed, revocable) and the seed's phase-1 environment keys."""

from __future__ import annotations

import uuid

import httpx
from fastapi import APIRouter
from sqlalchemy import select

from conjure.app import create_app
from conjure.apps import AppSpec
from conjure.auth.deps import AdminUser
from conjure.auth.models import ApiKey
from conjure.auth.tokens import hash_secret
from conjure.runtime import Runtime
from tests.auth.conftest import ClientFactory
from tests.factories import auth_headers, make_user

KEYS = "/api/v1/auth/api-keys"
IDENTITIES = "/api/v1/me/identities"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_key_is_shown_once_stored_hashed_and_authenticates(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime)
    created = await client.post(KEYS, json={"name": "ci"}, headers=auth_headers(runtime, user))
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith(created.json()["prefix"] + "_")
    assert created.json()["prefix"].startswith("cj_")
    async with runtime.db.session() as session:
        row = await session.scalar(select(ApiKey))
    assert row is not None
    assert row.key_hash == hash_secret(key)
    assert key not in (row.key_hash, row.prefix)

    me = await client.get("/api/v1/me", headers=_bearer(key))
    assert me.status_code == 200
    assert me.json()["id"] == str(user.id)
    listed = (await client.get(KEYS, headers=_bearer(key))).json()
    assert [k["name"] for k in listed["items"]] == ["ci"]
    assert (listed["total"], listed["limit"], listed["offset"]) == (1, 20, 0)
    assert "key" not in listed["items"][0]


async def test_the_key_list_is_a_page_newest_first(api: ClientFactory, backend: dict[str, str]) -> None:
    # Like every list: the Page envelope, ?limit/&offset, newest first, revoked keys included.
    async with api(**backend) as (client, runtime):
        user = await make_user(runtime)
        headers = auth_headers(runtime, user)
        for name in ("one", "two", "three"):
            assert (await client.post(KEYS, json={"name": name}, headers=headers)).status_code == 201
        first = (await client.get(f"{KEYS}?limit=2", headers=headers)).json()
        assert [k["name"] for k in first["items"]] == ["three", "two"]
        assert (first["total"], first["limit"], first["offset"]) == (3, 2, 0)
        revoke = await client.delete(f"{KEYS}/{first['items'][0]['id']}", headers=headers)
        assert revoke.status_code == 204
        rest = (await client.get(f"{KEYS}?limit=2&offset=2", headers=headers)).json()
        assert ([k["name"] for k in rest["items"]], rest["total"], rest["offset"]) == (["one"], 3, 2)
        revoked = (await client.get(KEYS, headers=headers)).json()["items"][0]
        assert (revoked["name"], revoked["revoked_at"] is not None) == ("three", True)
        too_many = await client.get(f"{KEYS}?limit=101", headers=headers)
        assert (too_many.status_code, too_many.json()["code"]) == (422, "validation_error")


async def test_revoked_key_is_refused_at_once(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await make_user(runtime)
    created = (await client.post(KEYS, json={"name": "temp"}, headers=auth_headers(runtime, user))).json()
    assert (await client.get("/api/v1/me", headers=_bearer(created["key"]))).status_code == 200
    revoked = await client.delete(f"{KEYS}/{created['id']}", headers=auth_headers(runtime, user))
    assert revoked.status_code == 204
    refused = await client.get("/api/v1/me", headers=_bearer(created["key"]))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
    # A key with the right prefix but a wrong secret is refused too.
    forged = created["key"][:-4] + "AAAA"
    assert (await client.get("/api/v1/me", headers=_bearer(forged))).status_code == 401


async def test_another_users_key_is_404(client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner, other = await make_user(runtime), await make_user(runtime)
    created = (await client.post(KEYS, json={"name": "mine"}, headers=auth_headers(runtime, owner))).json()
    theirs = await client.delete(f"{KEYS}/{created['id']}", headers=auth_headers(runtime, other))
    missing = await client.delete(f"{KEYS}/{uuid.uuid4()}", headers=auth_headers(runtime, other))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert (await client.get("/api/v1/me", headers=_bearer(created["key"]))).status_code == 200
    assert (await client.get(KEYS, headers=auth_headers(runtime, other))).json()["items"] == []


async def test_anyone_sets_a_lower_rate_limit_on_their_key(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # A key's own limit counts on top of its user's (tests/ratelimit/test_per_person.py), so it
    # can only lower what the key gets: no need to reserve it for admins.
    user = await make_user(runtime)
    made = await client.post(
        KEYS, json={"name": "bulk", "rate_limit": "10/minute"}, headers=auth_headers(runtime, user)
    )
    assert made.status_code == 201
    assert made.json()["rate_limit"] == "10/minute"
    bad_limit = {"name": "x", "rate_limit": "lots"}
    bad = await client.post(KEYS, json=bad_limit, headers=auth_headers(runtime, user))
    assert bad.status_code == 422
    # The syntax is the schema's pattern now, so it is an ordinary field error.
    assert bad.json()["code"] == "validation_error"
    assert [e["field"] for e in bad.json()["errors"]] == ["rate_limit"]


async def test_environment_keys_are_a_service_principal(api: ClientFactory) -> None:
    async with api(api_keys="prod:ttrt_prod_secret,ttrt_bare_secret") as (client, _):
        named = await client.get("/api/v1/me", headers=_bearer("ttrt_prod_secret"))
        named_again = await client.get("/api/v1/me", headers=_bearer("ttrt_prod_secret"))
        bare = await client.get("/api/v1/me", headers=_bearer("ttrt_bare_secret"))
        wrong = await client.get("/api/v1/me", headers=_bearer("ttrt_prod_secreT"))
    assert named.status_code == bare.status_code == 200
    assert named.json()["external_provider"] == "api_key"
    assert named.json()["name"] == "API key prod"
    assert named_again.json()["id"] == named.json()["id"] != bare.json()["id"]
    assert wrong.status_code == 401


async def test_admin_routes_refuse_users(client: httpx.AsyncClient, runtime: Runtime) -> None:
    router = APIRouter()

    @router.get("/admin-only")
    async def admin_only(admin: AdminUser) -> dict[str, str]:
        return {"role": admin.role}

    app = create_app(runtime=runtime, apps=[AppSpec(name="probe", routers=[router])])
    user, admin = await make_user(runtime), await make_user(runtime, admin=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        refused = await c.get("/admin-only", headers=auth_headers(runtime, user))
        allowed = await c.get("/admin-only", headers=auth_headers(runtime, admin))
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert allowed.json() == {"role": "admin"}


async def test_a_name_with_control_characters_is_refused_not_a_500(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    # PostgreSQL cannot store NUL in text: unchecked, the key's (or an account's) name was a 500 there.
    headers = auth_headers(runtime, await make_user(runtime))
    for name in ("my\x00key", "my\x07key"):
        refused = await client.post(KEYS, json={"name": name}, headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error"), repr(name)
    signup = {"email": "nul-name@example.com", "password": "a long password", "name": "Ann\x00"}
    refused = await client.post("/api/v1/auth/signup", json=signup)
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    assert (await client.post(KEYS, json={"name": "laptop"}, headers=headers)).status_code == 201


async def test_an_api_key_cannot_make_or_revoke_keys(client: httpx.AsyncClient, runtime: Runtime) -> None:
    """Keys are managed in person: a leaked key cannot mint keys that outlive its own revocation,
    nor revoke its owner's other keys; it may still list them (no secrets are shown)."""
    user = await make_user(runtime)
    signed_in = auth_headers(runtime, user)
    first = (await client.post(KEYS, json={"name": "ci"}, headers=signed_in)).json()
    second = (await client.post(KEYS, json={"name": "deploy"}, headers=signed_in)).json()
    with_key = _bearer(first["key"])
    minted = await client.post(KEYS, json={"name": "mine now"}, headers=with_key)
    assert minted.status_code == 403, minted.text
    assert minted.json()["code"] == "signed_in_required"
    revoked = await client.delete(f"{KEYS}/{second['id']}", headers=with_key)
    assert revoked.status_code == 403
    listed = await client.get(KEYS, headers=with_key)
    assert listed.status_code == 200
    # Nothing minted, none revoked.
    assert {item["name"] for item in listed.json()["items"]} == {"ci", "deploy"}
    assert all(item["revoked_at"] is None for item in listed.json()["items"])
    assert (await client.delete(f"{KEYS}/{second['id']}", headers=signed_in)).status_code == 204


async def test_an_api_key_cannot_add_or_remove_a_way_of_signing_in(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """A leaked key that could link a password of its holder's choosing would outlive its own
    revocation (sign in with it, make keys, delete the account); one that could unlink the owner's
    sign-ins would lock them out. Both are done in person only, like the keys themselves."""
    user = await make_user(runtime)
    signed_in = auth_headers(runtime, user)
    with_key = _bearer((await client.post(KEYS, json={"name": "ci"}, headers=signed_in)).json()["key"])
    thief = {"provider": "password", "email": "thief@example.com", "password": "the thief's own"}
    linked = await client.post(IDENTITIES, json=thief, headers=with_key)
    assert (linked.status_code, linked.json()["code"]) == (403, "signed_in_required"), linked.text
    login = {"email": "thief@example.com", "password": "the thief's own"}
    assert (await client.post("/api/v1/auth/login", json=login)).status_code == 401

    own = {"provider": "password", "email": "own@example.com", "password": "the owner's own"}
    mine = await client.post(IDENTITIES, json=own, headers=signed_in)
    assert mine.status_code == 201, mine.text
    removed = await client.delete(f"{IDENTITIES}/{mine.json()['id']}", headers=with_key)
    assert (removed.status_code, removed.json()["code"]) == (403, "signed_in_required"), removed.text
    listed = await client.get(IDENTITIES, headers=with_key)  # reading them stays open to a key
    assert [row["provider"] for row in listed.json()["items"]] == ["password"]
