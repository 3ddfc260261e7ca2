"""The five ways of signing in, each able to sign in fresh and to be linked: test helpers.

Provider tokens are minted with the session's RSA keys and verified by the app against the
local JWKS server (``tests/auth/conftest.py``); Telegram init data is signed as Telegram does.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.auth.conftest import JWKSServer
from tests.auth.test_telegram import BOT_TOKEN, telegram_init_data

METHODS = ("password", "telegram", "clerk", "auth0", "firebase")
PASSWORD = "correct horse battery"


def provider_settings(server: JWKSServer, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """Settings turning every sign-in method on, with the providers' keys published."""
    for path in ("/clerk/.well-known/jwks.json", "/auth0/.well-known/jwks.json", "/firebase/jwks"):
        server.publish(path, ("kid-link", key))
    return {
        "telegram_bot_token": BOT_TOKEN,
        "clerk_issuer": server.url("/clerk"),
        "auth0_issuer": server.url("/auth0/"),
        "auth0_audience": "https://api.conjure.test",
        "firebase_project_id": "conjure-test",
        "firebase_jwks_url": server.url("/firebase/jwks"),
    }


@dataclass
class Method:
    """One identity of one method: ``sign_in`` reaches its account, ``link_body`` links it."""

    name: str
    server: JWKSServer
    key: rsa.RSAPrivateKey
    subject: str = ""

    def __post_init__(self) -> None:
        if not self.subject:
            self.subject = str(uuid.uuid4().int % 10**9) if self.name == "telegram" else uuid.uuid4().hex[:12]

    @property
    def email(self) -> str:
        return f"{self.subject}@example.com"

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        issuer = {
            "clerk": self.server.url("/clerk"),
            "auth0": self.server.url("/auth0/"),
            "firebase": "https://securetoken.google.com/conjure-test",
        }[self.name]
        body: dict[str, Any] = {"iss": issuer, "sub": self.subject, "iat": now, "nbf": now, "exp": now + 300}
        if self.name == "auth0":
            body["aud"] = "https://api.conjure.test"
        if self.name == "firebase":
            body.update(aud="conjure-test", auth_time=now)
        body.update(claims)
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": "kid-link"})

    def link_body(self, password: str = PASSWORD) -> dict[str, Any]:
        if self.name == "password":
            return {"provider": "password", "email": self.email, "password": password}
        if self.name == "telegram":
            return {"provider": "telegram", "init_data": telegram_init_data(user_id=int(self.subject))}
        return {"provider": self.name, "token": self.token()}

    async def sign_up(self, client: httpx.AsyncClient) -> dict[str, str]:
        """Create this identity's account (first sign-in); the bearer headers of the session."""
        if self.name == "password":
            body = {"email": self.email, "password": PASSWORD}
            response = await client.post("/api/v1/auth/signup", json=body)
            assert response.status_code == 201, response.text
            return {"Authorization": f"Bearer {response.json()['access_token']}"}
        return await self.sign_in_headers(client)

    async def sign_in_headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        if self.name == "password":
            body = {"email": self.email, "password": PASSWORD}
            response = await client.post("/api/v1/auth/login", json=body)
            assert response.status_code == 200, response.text
            return {"Authorization": f"Bearer {response.json()['access_token']}"}
        if self.name == "telegram":
            body = {"init_data": telegram_init_data(user_id=int(self.subject))}
            response = await client.post("/api/v1/auth/telegram", json=body)
            assert response.status_code == 200, response.text
            return {"Authorization": f"Bearer {response.json()['access_token']}"}
        return {"Authorization": f"Bearer {self.token()}"}

    async def me(self, client: httpx.AsyncClient) -> dict[str, Any]:
        """Sign in with this identity and read the account it reaches."""
        response = await client.get("/api/v1/me", headers=await self.sign_in_headers(client))
        assert response.status_code == 200, response.text
        me: dict[str, Any] = response.json()
        return me
