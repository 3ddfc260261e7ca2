"""The wallet's HTTP routes, through the real app (SQLite runtime)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable

import httpx

from conjure.app import create_app
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.wallet import service
from tests.factories import auth_headers, make_user


async def test_wallet_shows_balances_and_hides_other_users(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await make_user(runtime, stars=4, coins=30)
    other = await make_user(runtime, stars=1)
    headers = auth_headers(runtime, user)
    async with runtime.db.session() as session:
        await service.hold_stars(session, user.id, 1, job_id=uuid.uuid4())

    resp = await client.get("/api/v1/user/wallet", headers=headers)
    assert resp.status_code == 200
    body = resp.json()
    assert body["user_id"] == str(user.id)
    assert (body["star_balance"], body["coin_balance"], body["stars_held"], body["available_stars"]) == (
        4,
        30,
        1,
        3,
    )
    assert body["coins_per_star"] == runtime.settings.coins_per_star

    assert (await client.get(f"/api/v1/user/wallet/{user.id}", headers=headers)).json() == body
    for foreign in (str(other.id), str(uuid.uuid4()), "not-a-uuid"):
        resp = await client.get(f"/api/v1/user/wallet/{foreign}", headers=headers)
        assert resp.status_code == 404
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["code"] == "not_found"
    resp = await client.get("/api/v1/user/wallet")
    assert resp.status_code == 401


async def test_transactions_are_paginated_newest_first(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await make_user(runtime, stars=2, coins=5)
    headers = auth_headers(runtime, user)
    async with runtime.db.session() as session:
        for i in range(3):
            await service.credit(
                session, user.id, amount=i + 1, currency="coin", tx_type="grant", idempotency_key=f"t{i}"
            )
    resp = await client.get("/api/v1/user/wallet/transactions", params={"limit": 2}, headers=headers)
    assert resp.status_code == 200
    page = resp.json()
    assert [(t["amount"], t["currency"]) for t in page["items"]] == [(3, "coin"), (2, "coin")]
    assert page["items"][0]["balance_after"] == 11
    resp = await client.get(
        "/api/v1/user/wallet/transactions",
        params={"limit": 2, "before": page["next_before"]},
        headers=headers,
    )
    page = resp.json()
    assert [t["amount"] for t in page["items"]] == [1, 5]
    resp = await client.get(
        "/api/v1/user/wallet/transactions", params={"before": page["next_before"]}, headers=headers
    )
    page = resp.json()
    assert [(t["amount"], t["currency"], t["transaction_type"]) for t in page["items"]] == [
        (2, "star", "grant")
    ]
    assert page["next_before"] is None
    resp = await client.get("/api/v1/user/wallet/transactions", params={"limit": 0}, headers=headers)
    assert resp.status_code == 422


async def test_invite_returns_code_link_and_count(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user = await make_user(runtime)
    resp = await client.post("/api/v1/user/invite", headers=auth_headers(runtime, user))
    assert resp.status_code == 200
    assert resp.json() == {
        "invite_code": user.invite_code,
        "invite_link": f"{runtime.settings.public_base_url}/?invite={user.invite_code}",
        "total_invites": 0,
    }


async def test_exchange_coins(client: httpx.AsyncClient, runtime: Runtime) -> None:
    rate = runtime.settings.coins_per_star
    user = await make_user(runtime, coins=2 * rate + 1)
    headers = auth_headers(runtime, user)
    resp = await client.post("/api/v1/exchange-coins", json={"stars": 2}, headers=headers)
    assert resp.status_code == 200
    body = resp.json()
    assert (body["stars"], body["coins_spent"]) == (2, 2 * rate)
    assert (body["wallet"]["star_balance"], body["wallet"]["coin_balance"]) == (2, 1)

    resp = await client.post("/api/v1/exchange-coins", json={"stars": 1}, headers=headers)
    assert resp.status_code == 402
    assert resp.json()["code"] == "insufficient_coins"
    for bad in (0, -1, 1.5, "1", True, None, 10**7):
        resp = await client.post("/api/v1/exchange-coins", json={"stars": bad}, headers=headers)
        assert resp.status_code == 422, bad
        assert resp.json()["errors"][0]["field"] == "stars"
    resp = await client.post("/api/v1/exchange-coins", json={}, headers=headers)
    assert resp.status_code == 422


async def test_admin_grant_and_wallet_view(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_user(runtime, admin=True)
    user = await make_user(runtime, stars=1)
    admin_headers = auth_headers(runtime, admin)
    grant = {"user_id": str(user.id), "currency": "star", "amount": 5, "reason": "support ticket 12"}

    resp = await client.post("/api/v1/admin/wallet/grant", json=grant, headers=auth_headers(runtime, user))
    assert resp.status_code == 403
    resp = await client.post("/api/v1/admin/wallet/grant", json=grant, headers=admin_headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["transaction"]["metadata"] == {"reason": "support ticket 12", "actor_id": str(admin.id)}
    assert body["wallet"]["star_balance"] == 6

    revoke = {**grant, "amount": -7, "reason": "chargeback"}
    resp = await client.post("/api/v1/admin/wallet/grant", json=revoke, headers=admin_headers)
    assert (resp.status_code, resp.json()["code"]) == (402, "insufficient_stars")
    resp = await client.post("/api/v1/admin/wallet/grant", json={**grant, "amount": 0}, headers=admin_headers)
    assert resp.status_code == 422
    resp = await client.post(
        "/api/v1/admin/wallet/grant", json={**grant, "currency": "gold"}, headers=admin_headers
    )
    assert resp.status_code == 422
    resp = await client.post(
        "/api/v1/admin/wallet/grant", json={**grant, "user_id": str(uuid.uuid4())}, headers=admin_headers
    )
    assert resp.status_code == 404

    resp = await client.get(f"/api/v1/admin/users/{user.id}/wallet", headers=admin_headers)
    assert resp.status_code == 200
    view = resp.json()
    assert view["wallet"]["star_balance"] == 6
    assert view["email"] == user.email
    assert [t["transaction_type"] for t in view["transactions"]] == ["grant", "grant"]
    resp = await client.get(f"/api/v1/admin/users/{user.id}/wallet", headers=auth_headers(runtime, user))
    assert resp.status_code == 403
    resp = await client.get(f"/api/v1/admin/users/{uuid.uuid4()}/wallet", headers=admin_headers)
    assert resp.status_code == 404

    async with runtime.db.session() as session:
        assert await service.check_consistency(session) == []


async def test_concurrent_exchanges_over_http_on_postgres(
    pg_url: str, make_settings: Callable[..., Settings]
) -> None:
    rt = await Runtime.start(make_settings(database_url=pg_url))
    try:
        rate = rt.settings.coins_per_star
        user = await make_user(rt, coins=5 * rate)
        headers = auth_headers(rt, user)
        transport = httpx.ASGITransport(app=create_app(runtime=rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(
                *(
                    client.post("/api/v1/exchange-coins", json={"stars": 1}, headers=headers)
                    for _ in range(20)
                )
            )
            assert Counter(r.status_code for r in responses) == {200: 5, 402: 15}
            wallet = (await client.get("/api/v1/user/wallet", headers=headers)).json()
        assert (wallet["star_balance"], wallet["coin_balance"]) == (5, 0)
        async with rt.db.session() as session:
            assert await service.check_consistency(session) == []
    finally:
        await rt.close()
