"""Clerk, Auth0 and Firebase ID tokens, verified against a real local JWKS server."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from conjure.auth.tokens import issue_access_token
from conjure.users.models import User
from tests.auth.conftest import ClientFactory, JWKSServer


@dataclass(frozen=True)
class Case:
    name: str
    issuer: str
    jwks_path: str
    settings: dict[str, Any]
    claims: dict[str, Any]  # what a real token of this provider carries besides iss/sub/exp/iat
    wrong_audience: dict[str, Any]  # the claim change that makes it "for someone else"


def _case(name: str, server: JWKSServer) -> Case:
    if name == "clerk":
        issuer = server.url("/clerk")
        return Case(
            name,
            issuer,
            "/clerk/.well-known/jwks.json",
            {"clerk_issuer": issuer, "clerk_authorized_parties": "https://app.example"},
            {"azp": "https://app.example", "sid": "sess_1"},
            {"azp": "https://evil.example"},
        )
    if name == "auth0":
        issuer = server.url("/auth0/")
        return Case(
            name,
            issuer,
            "/auth0/.well-known/jwks.json",
            {"auth0_issuer": issuer, "auth0_audience": "https://api.conjure.test"},
            {"aud": "https://api.conjure.test", "email": "ada@auth0.test", "email_verified": True},
            {"aud": "https://other-api.test"},
        )
    return Case(
        name,
        "https://securetoken.google.com/conjure-test",
        "/firebase/jwks",
        {"firebase_project_id": "conjure-test", "firebase_jwks_url": server.url("/firebase/jwks")},
        {"aud": "conjure-test", "email": "ada@firebase.test", "email_verified": False, "auth_time": 1},
        {"aud": "other-project"},
    )


@pytest.fixture(params=["clerk", "auth0", "firebase"])
def case(request: pytest.FixtureRequest, jwks_server: JWKSServer, rsa_keys: dict[str, Any]) -> Case:
    chosen = _case(request.param, jwks_server)
    jwks_server.publish(chosen.jwks_path, ("kid-a", rsa_keys["a"]))
    jwks_server.fetches[chosen.jwks_path] = 0
    return chosen


def _claims(case: Case, sub: str = "ext-user-1", **override: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": case.issuer, "sub": sub, "iat": now, "nbf": now, "exp": now + 300, **case.claims}
    claims.update(override)
    return claims


def _mint(private: rsa.RSAPrivateKey, kid: str, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(private: rsa.RSAPrivateKey, kid: str, claims: dict[str, Any]) -> str:
    """The classic algorithm-confusion forgery: HMAC keyed with the (public) PEM."""
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_valid_token_syncs_the_user_once(
    case: Case, api: ClientFactory, rsa_keys: dict[str, Any]
) -> None:
    token = _mint(rsa_keys["a"], "kid-a", _claims(case))
    async with api(**case.settings) as (client, runtime):
        first = await client.get("/api/v1/me", headers=_bearer(token))
        assert first.status_code == 200, first.text
        again = await client.get("/api/v1/me", headers=_bearer(token))
    me = first.json()
    assert again.json()["id"] == me["id"]
    assert me["external_provider"] == case.name
    assert me["star_balance"] == runtime.settings.signup_bonus_stars
    # Only a provider-verified email is kept (it can grant the admin role).
    verified = case.claims.get("email_verified") is True
    assert me["email"] == (case.claims["email"] if verified else None)


@pytest.mark.parametrize(
    "attack", ["expired", "wrong_iss", "wrong_aud", "alg_none", "hs256_public_key", "wrong_key", "future_nbf"]
)
async def test_bad_tokens_are_refused(
    case: Case, attack: str, api: ClientFactory, rsa_keys: dict[str, Any]
) -> None:
    key = rsa_keys["a"]
    now = int(time.time())
    if attack == "expired":
        token = _mint(key, "kid-a", _claims(case, exp=now - 3600, iat=now - 7200, nbf=now - 7200))
    elif attack == "wrong_iss":
        token = _mint(key, "kid-a", _claims(case, iss="https://evil.example/"))
    elif attack == "wrong_aud":
        token = _mint(key, "kid-a", _claims(case, **case.wrong_audience))
    elif attack == "alg_none":
        token = jwt.encode(_claims(case), None, algorithm="none", headers={"kid": "kid-a"})
    elif attack == "hs256_public_key":
        token = _hs256_with_public_key(key, "kid-a", _claims(case))
    elif attack == "wrong_key":
        token = _mint(rsa_keys["c"], "kid-a", _claims(case))
    else:
        token = _mint(key, "kid-a", _claims(case, nbf=now + 3600))
    async with api(**case.settings) as (client, runtime):
        answer = await client.get("/api/v1/me", headers=_bearer(token))
        async with runtime.db.session() as session:
            users = await session.scalar(select(func.count()).select_from(User))
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == ("token_expired" if attack == "expired" else "invalid_token")
    assert users == 0


async def test_unknown_kid_refetches_once_per_interval(
    case: Case, api: ClientFactory, jwks_server: JWKSServer, rsa_keys: dict[str, Any]
) -> None:
    old = _mint(rsa_keys["a"], "kid-a", _claims(case))
    new = _mint(rsa_keys["b"], "kid-b", _claims(case))
    # Within the interval: an unknown kid does not trigger a second fetch (no JWKS flooding).
    async with api(**case.settings, jwks_min_refresh_seconds=3600) as (client, _):
        assert (await client.get("/api/v1/me", headers=_bearer(old))).status_code == 200
        jwks_server.publish(case.jwks_path, ("kid-a", rsa_keys["a"]), ("kid-b", rsa_keys["b"]))
        for _ in range(3):
            assert (await client.get("/api/v1/me", headers=_bearer(new))).status_code == 401
    assert jwks_server.fetches[case.jwks_path] == 1

    # Key rotation: the issuer drops kid-a for kid-b; the cache refetches on the unknown kid.
    jwks_server.publish(case.jwks_path, ("kid-a", rsa_keys["a"]))
    jwks_server.fetches[case.jwks_path] = 0
    async with api(**case.settings, jwks_min_refresh_seconds=0) as (client, _):
        assert (await client.get("/api/v1/me", headers=_bearer(old))).status_code == 200
        jwks_server.publish(case.jwks_path, ("kid-b", rsa_keys["b"]))
        rotated = await client.get("/api/v1/me", headers=_bearer(new))
        assert rotated.status_code == 200, rotated.text
        assert (await client.get("/api/v1/me", headers=_bearer(new))).status_code == 200
    assert jwks_server.fetches[case.jwks_path] == 2


@pytest.mark.parametrize("which", ["clerk"])
async def test_concurrent_first_sights_make_one_user(
    which: str,
    backend: dict[str, str],
    api: ClientFactory,
    jwks_server: JWKSServer,
    rsa_keys: dict[str, Any],
) -> None:
    case = _case(which, jwks_server)
    jwks_server.publish(case.jwks_path, ("kid-a", rsa_keys["a"]))
    token = _mint(rsa_keys["a"], "kid-a", _claims(case, sub="racer"))
    async with api(**case.settings, **backend) as (client, runtime):
        answers = await asyncio.gather(*(client.get("/api/v1/me", headers=_bearer(token)) for _ in range(8)))
        async with runtime.db.session() as session:
            users = await session.scalar(
                select(func.count()).select_from(User).where(User.external_id == "racer")
            )
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert users == 1


async def test_auth0_without_audience_refuses_and_long_subjects_are_refused(
    api: ClientFactory, jwks_server: JWKSServer, rsa_keys: dict[str, Any]
) -> None:
    case = _case("auth0", jwks_server)
    jwks_server.publish(case.jwks_path, ("kid-a", rsa_keys["a"]))
    token = _mint(rsa_keys["a"], "kid-a", _claims(case))
    # A tenant's tokens for any of its APIs would pass if the audience were not pinned.
    async with api(auth0_issuer=case.issuer) as (client, _):
        assert (await client.get("/api/v1/me", headers=_bearer(token))).status_code == 401
    long_sub = _mint(rsa_keys["a"], "kid-a", _claims(case, sub="x" * 256))
    async with api(**case.settings) as (client, _):
        assert (await client.get("/api/v1/me", headers=_bearer(long_sub))).status_code == 401
        assert (await client.get("/api/v1/me", headers=_bearer(token))).status_code == 200


async def test_openapi_declares_the_bearer_scheme(api: ClientFactory) -> None:
    async with api() as (client, _):
        spec = (await client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert {"bearer": []} in spec["paths"]["/api/v1/me"]["get"]["security"]


async def test_provider_tokens_share_the_users_rate_limit(
    case: Case, api: ClientFactory, rsa_keys: dict[str, Any]
) -> None:
    external = _bearer(_mint(rsa_keys["a"], "kid-a", _claims(case)))
    async with api(**case.settings, rate_limit_default="3/minute") as (client, runtime):
        first = await client.get("/api/v1/me", headers=external)
        assert first.status_code == 200, first.text
        own = _bearer(issue_access_token(runtime.settings, uuid.UUID(first.json()["id"])))
        answers = [(await client.get("/api/v1/me", headers=h)).status_code for h in (own, own, external)]
    assert answers == [200, 200, 429]


def _without(claims: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k != name}


# Each provider's documented claims: (label, claims change, accepted?). "drop:<claim>" removes one.
PROVIDER_CLAIMS: dict[str, list[tuple[str, dict[str, Any] | str, bool]]] = {
    "firebase": [
        ("sub of 128", {"sub": "u" * 128}, True),
        ("sub of 129", {"sub": "u" * 129}, False),
        ("empty sub", {"sub": ""}, False),
        ("blank sub", {"sub": "   "}, False),
        ("numeric sub", {"sub": 12345}, False),
        ("auth_time an hour ahead", {"auth_time": "+3600"}, False),
        ("auth_time within leeway", {"auth_time": "+10"}, True),
        ("auth_time not a number", {"auth_time": "yesterday"}, False),
        ("auth_time a boolean", {"auth_time": True}, False),
        ("no auth_time", "drop:auth_time", False),
        ("no aud", "drop:aud", False),
    ],
    "clerk": [
        ("no azp", "drop:azp", False),
        ("azp of another origin", {"azp": "https://app.example.evil"}, False),
        ("azp in a list", {"azp": ["https://app.example"]}, False),
        ("no nbf", "drop:nbf", False),
        ("nbf an hour ahead", {"nbf": "+3600"}, False),
        ("nbf within leeway", {"nbf": "+10"}, True),
    ],
    "auth0": [
        ("no aud", "drop:aud", False),
        ("aud list with ours", {"aud": ["https://api.conjure.test", "https://t.auth0.com/userinfo"]}, True),
        ("aud list without ours", {"aud": ["https://other-api.test", "https://t.auth0.com/userinfo"]}, False),
        ("aud a prefix of ours", {"aud": "https://api.conjure"}, False),
        ("iat an hour ahead", {"iat": "+3600"}, False),
    ],
}


def _apply(claims: dict[str, Any], change: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(change, str):
        return _without(claims, change.removeprefix("drop:"))
    now = int(time.time())
    values = {k: now + int(v) if isinstance(v, str) and v.startswith("+") else v for k, v in change.items()}
    return {**claims, **values}


@pytest.mark.parametrize(
    ("provider", "label", "change", "accepted"),
    [(p, label, change, ok) for p, cases in PROVIDER_CLAIMS.items() for label, change, ok in cases],
    ids=[f"{p}-{label}" for p, cases in PROVIDER_CLAIMS.items() for label, _, _ in cases],
)
async def test_each_providers_documented_claims_are_checked(
    provider: str,
    label: str,
    change: dict[str, Any] | str,
    accepted: bool,
    api: ClientFactory,
    jwks_server: JWKSServer,
    rsa_keys: dict[str, Any],
) -> None:
    case = _case(provider, jwks_server)
    jwks_server.publish(case.jwks_path, ("kid-a", rsa_keys["a"]))
    token = _mint(rsa_keys["a"], "kid-a", _apply(_claims(case), change))
    async with api(**case.settings) as (client, runtime):
        answer = await client.get("/api/v1/me", headers=_bearer(token))
        async with runtime.db.session() as session:
            users = await session.scalar(select(func.count()).select_from(User))
    assert answer.status_code == (200 if accepted else 401), (label, answer.text)
    assert users == (1 if accepted else 0)
    if not accepted:
        assert answer.json()["code"] == "invalid_token"
