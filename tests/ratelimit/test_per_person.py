"""Rate limits are per person: a user's token and API keys share one bucket; a key may only lower it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from conjure.app import create_app
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import User
from tests.factories import auth_headers, make_user

KEYS = "/api/v1/auth/api-keys"


@pytest.fixture
async def app_client(
    make_settings: Callable[..., Settings], backend: dict[str, str]
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    runtime = await Runtime.start(make_settings(rate_limit_default="6/minute", **backend))
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield runtime, client
    finally:
        await runtime.close()


async def new_key(
    client: httpx.AsyncClient, runtime: Runtime, user: User, rate_limit: str | None = None
) -> dict[str, str]:
    """A fresh API key of ``user`` as bearer headers (creating it counts one request)."""
    body = {"name": "k", **({"rate_limit": rate_limit} if rate_limit else {})}
    made = await client.post(KEYS, json=body, headers=auth_headers(runtime, user))
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


async def statuses(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> list[int]:
    return [(await client.get("/api/v1/me", headers=headers)).status_code for _ in range(n)]


async def test_a_users_api_keys_share_the_limit_of_their_token(
    app_client: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = app_client
    user, other = await make_user(runtime), await make_user(runtime)
    keys = [await new_key(client, runtime, user) for _ in range(2)]  # 2 of the user's 6
    token = auth_headers(runtime, user)

    assert await statuses(client, token, 5) == [200, 200, 200, 200, 429]
    for key in keys:  # a fresh key is not a fresh bucket
        refused = await client.get("/api/v1/me", headers=key)
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
    # Someone else, by token or by key, is untouched.
    other_key = await new_key(client, runtime, other)
    assert await statuses(client, other_key, 1) == [200]
    assert await statuses(client, auth_headers(runtime, other), 1) == [200]


async def test_spending_with_keys_first_stops_the_token_too(
    app_client: tuple[Runtime, httpx.AsyncClient],
) -> None:
    runtime, client = app_client
    user = await make_user(runtime)
    first, second = await new_key(client, runtime, user), await new_key(client, runtime, user)
    assert await statuses(client, first, 2) + await statuses(client, second, 2) == [200] * 4
    assert await statuses(client, auth_headers(runtime, user), 1) == [429]


async def test_a_keys_own_limit_only_lowers(app_client: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = app_client
    user = await make_user(runtime)
    narrow = await new_key(client, runtime, user, "2/minute")
    wide = await new_key(client, runtime, user, "1000/minute")  # asks for more than the user has
    # The narrow key stops at its own 2 while the user still has room…
    answers = await statuses(client, narrow, 3)
    assert answers == [200, 200, 429]
    # …and the wide one gets only what is left of the user's 6 (2 keys made + 2 narrow = 4 used;
    # the request the narrow key's own limit refused cost the user nothing).
    assert await statuses(client, wide, 3) == [200, 200, 429]
    assert await statuses(client, auth_headers(runtime, user), 1) == [429]
