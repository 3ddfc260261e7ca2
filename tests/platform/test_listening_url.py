"""Links follow the address the server listens on unless PUBLIC_BASE_URL says otherwise."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from conjure.cli import build_up
from conjure.runtime import Runtime
from conjure.settings import Settings, listening_url
from tests.factories import auth_headers, make_user


@pytest.fixture
def bare_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`conjure up` as on a fresh checkout: embedded default under tmp_path, no .env, no links set."""
    monkeypatch.chdir(tmp_path)
    for name in ("PUBLIC_BASE_URL", "CORS_ORIGINS", "DATABASE_URL", "REDIS_URL", "STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ENVIRONMENT", "test")
    return tmp_path


async def links(app: object) -> tuple[str, str]:
    """The invite link of a new user (over HTTP) and a signed link to a stored object."""
    from fastapi import FastAPI

    assert isinstance(app, FastAPI)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        user = await make_user(runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            invite = await api.post("/api/v1/user/invite", headers=auth_headers(runtime, user))
        assert invite.status_code == 200, invite.text
        await runtime.storage.put("links/one.png", b"png", content_type="image/png")
        image = await runtime.storage.presigned_get_url("links/one.png", expires_seconds=60)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            split = urlsplit(image)
            fetched = await api.get(f"{split.path}?{split.query}")
        assert fetched.content == b"png"  # the link is a working one, only its origin changed
        return str(invite.json()["invite_link"]), image


def test_conjure_up_on_another_port_links_to_that_port(bare_env: Path) -> None:
    invite, image = asyncio.run(links(build_up("127.0.0.1", 8123)))
    assert invite.startswith("http://localhost:8123/?invite=")
    assert image.startswith("http://localhost:8123/files/links/one.png?")


def test_an_explicit_public_base_url_wins_over_the_port(
    bare_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://conjure.example")
    invite, image = asyncio.run(links(build_up("0.0.0.0", 8123)))
    assert invite.startswith("https://conjure.example/?invite=")
    assert image.startswith("https://conjure.example/files/")


def test_listening_url_names_a_reachable_host() -> None:
    assert listening_url("0.0.0.0", 9000) == "http://localhost:9000"
    assert listening_url("10.1.2.3", 9000) == "http://10.1.2.3:9000"
    assert listening_url("fd00::1", 9000) == "http://[fd00::1]:9000"
    served = Settings(_env_file=None, cors_origins=["https://app.example"]).serving_at("127.0.0.1", 8123)  # type: ignore[call-arg]
    assert served.public_base_url == "http://localhost:8123"
    assert served.cors_origins == ["https://app.example"]  # given, so kept


def test_conjure_up_on_loopback_takes_uploads_from_either_name_of_it(bare_env: Path) -> None:
    # The terminal and the README say http://127.0.0.1:8123, the links say localhost: a page opened at
    # either one uploads to the store (a cross-origin PUT) and calls the API.
    served = Settings(_env_file=None).serving_at("127.0.0.1", 8123)  # type: ignore[call-arg]
    assert served.public_base_url == "http://localhost:8123"
    assert set(served.cors_origins) == {"http://localhost:8123", "http://127.0.0.1:8123"}
    app = build_up("127.0.0.1", 8123)

    async def preflight(origin: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            return await api.options(
                "/files/uploads/x.jpg",
                headers={"origin": origin, "access-control-request-method": "PUT"},
            )

    for origin in ("http://127.0.0.1:8123", "http://localhost:8123"):
        allowed = asyncio.run(preflight(origin))
        assert allowed.headers.get("access-control-allow-origin") == origin
    assert "access-control-allow-origin" not in asyncio.run(preflight("http://evil.example")).headers
    # Bound to one address, only that address is named.
    assert Settings(_env_file=None).serving_at("10.1.2.3", 8123).cors_origins == ["http://10.1.2.3:8123"]  # type: ignore[call-arg]
