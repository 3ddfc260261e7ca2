"""Fixtures for identity tests: a local JWKS server, RSA keys, and API clients with custom settings."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from conjure.app import create_app
from conjure.runtime import Runtime
from conjure.settings import Settings


@dataclass
class JWKSServer:
    """Serves ``{path: JWKS}`` over real HTTP on loopback and counts fetches per path."""

    port: int
    sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    fetches: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def publish(self, path: str, *keys: tuple[str, rsa.RSAPrivateKey]) -> None:
        jwks = []
        for kid, private in keys:
            jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
            jwk.update(kid=kid, alg="RS256", use="sig")
            jwks.append(jwk)
        self.sets[path] = {"keys": jwks}


@pytest.fixture(scope="session")
def jwks_server() -> Iterator[JWKSServer]:
    state = JWKSServer(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.fetches[self.path] = state.fetches.get(self.path, 0) + 1
            body = state.sets.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def rsa_keys() -> dict[str, rsa.RSAPrivateKey]:
    """Three signing keys, made once (RSA generation is slow)."""
    return {name: rsa.generate_private_key(public_exponent=65537, key_size=2048) for name in ("a", "b", "c")}


ClientFactory = Callable[..., AbstractAsyncContextManager[tuple[httpx.AsyncClient, Runtime]]]


@pytest.fixture
def api(make_settings: Callable[..., Settings], sqlite_url: str) -> ClientFactory:
    """``async with api(**settings) as (client, runtime)``: the real app on a migrated SQLite db."""

    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
        overrides.setdefault("database_url", sqlite_url)
        runtime = await Runtime.start(make_settings(**overrides))
        app = create_app(runtime=runtime)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield client, runtime
        finally:
            await runtime.close()

    return open_client
