"""Every list route pages the same way (``Page[T]``: items, total, limit, offset) and bounds its integers."""

from __future__ import annotations

from conjure.kit.paging import MAX_OFFSET
from conjure.wallet.service import credit
from tests.apps.conftest import MakeApi

LIST_ROUTES = (
    "/api/v1/readings",
    "/api/generations",
    "/api/v1/payment/history",
    "/api/v1/user/wallet/transactions",
)
BAD_PAGING = (
    {"offset": "9223372036854775808"},  # issue 23: an OverflowError (500) in asyncpg
    {"offset": str(2**64)},
    {"offset": str(MAX_OFFSET + 1)},
    {"offset": "-1"},
    {"limit": "0"},
    {"limit": "101"},
    {"limit": "9223372036854775808"},
    {"offset": "1e3"},
)


async def test_huge_or_negative_paging_is_422_not_500(make_api: MakeApi, backend: dict[str, str]) -> None:
    api = await make_api(**backend)
    _, headers = await api.user()
    cases = [(path, params) for path in LIST_ROUTES for params in BAD_PAGING]
    cases += [
        ("/api/v1/user/wallet/transactions", {"before": "9223372036854775808"}),
        ("/api/v1/user/wallet/transactions", {"before": "0"}),
    ]
    for path, params in cases:
        response = await api.client.get(path, params=params, headers=headers)
        assert response.status_code == 422, (path, params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"


async def test_every_list_route_answers_a_page(make_api: MakeApi, backend: dict[str, str]) -> None:
    api = await make_api(**backend)
    _, headers = await api.user(stars=2)
    for path in LIST_ROUTES:
        page = (await api.client.get(path, headers=headers)).json()
        assert {"items", "total", "limit", "offset"} <= set(page), (path, page)
        assert (page["limit"], page["offset"]) == (20, 0)
        # The deepest page allowed is fine on both databases, just empty.
        deepest = await api.client.get(path, params={"offset": MAX_OFFSET, "limit": 100}, headers=headers)
        assert deepest.status_code == 200, (path, deepest.text)
        assert deepest.json()["items"] == []
        assert deepest.json()["total"] == page["total"]


async def test_wallet_transactions_page_by_offset_and_still_by_before(
    make_api: MakeApi, sqlite_url: str
) -> None:
    api = await make_api(database_url=sqlite_url)
    user, headers = await api.user(stars=2)
    async with api.runtime.db.session() as session:
        for i in range(3):
            k = f"page-{i}"
            await credit(session, user.id, amount=i + 1, currency="coin", tx_type="grant", idempotency_key=k)
    path = "/api/v1/user/wallet/transactions"
    first = (await api.client.get(path, params={"limit": 2}, headers=headers)).json()
    second = (await api.client.get(path, params={"limit": 2, "offset": 2}, headers=headers)).json()
    assert [t["amount"] for t in first["items"] + second["items"]] == [3, 2, 1, 2]
    assert (first["total"], second["total"], second["offset"]) == (4, 4, 2)
    older = (await api.client.get(path, params={"before": first["next_before"]}, headers=headers)).json()
    assert [t["amount"] for t in older["items"]] == [1, 2]
    assert older["total"] == 2
