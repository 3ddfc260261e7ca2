"""Sign-ups are limited per device (``X-Device-Id``) as well as per IP (RATE_LIMIT_SIGNUP_DEVICE)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from conjure.app import create_app
from conjure.runtime import Runtime
from conjure.settings import Settings


def _client(runtime: Runtime, ip: str) -> httpx.AsyncClient:
    app = create_app(runtime=runtime, apps=[])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 4000)), base_url="http://t")


async def _signup(client: httpx.AsyncClient, email: str, device: str | None) -> httpx.Response:
    headers = {"X-Device-Id": device} if device is not None else {}
    body = {"email": email, "password": "pw 12345678"}
    return await client.post("/api/v1/auth/signup", json=body, headers=headers)


async def test_sign_ups_are_limited_per_device_across_ips(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    settings = make_settings(
        database_url=sqlite_url, rate_limit_signup="100/hour", rate_limit_signup_device="2/hour"
    )
    runtime = await Runtime.start(settings)
    try:
        clients = [_client(runtime, f"10.0.1.{i}") for i in range(4)]
        # One device hopping IPs: the per-IP limit never trips, the per-device one does.
        answers = [await _signup(c, f"d{i}@example.com", "phone-1") for i, c in enumerate(clients[:3])]
        assert [a.status_code for a in answers] == [201, 201, 429]
        assert answers[2].json()["scope"] == "signup_device"
        # Another device, or none at all (per-IP only), still signs up from the same IP.
        assert (await _signup(clients[2], "other@example.com", "phone-2")).status_code == 201
        assert (await _signup(clients[3], "none@example.com", None)).status_code == 201
        assert (await _signup(clients[3], "blank@example.com", "  ")).status_code == 201
        # Any header value is one bounded key (hashed), never an error.
        assert (await _signup(clients[3], "long@example.com", "x" * 5000)).status_code == 201
        for c in clients:
            await c.aclose()
    finally:
        await runtime.close()
