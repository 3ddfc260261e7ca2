"""Linked sign-ins: every pair of methods reaches one account and wallet; conflicts, merges, unlinking."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from conjure.runtime import Runtime
from conjure.users.models import User
from conjure.wallet.consistency import check_consistency
from conjure.wallet.models import WalletTransaction
from conjure.wallet.service import grant
from tests.auth.conftest import ClientFactory, JWKSServer
from tests.auth.identity_methods import METHODS, Method, provider_settings

URL = "/api/v1/me/identities"


@pytest.fixture
def every_method(jwks_server: JWKSServer, rsa_keys: dict[str, rsa.RSAPrivateKey]) -> dict[str, Any]:
    return provider_settings(jwks_server, rsa_keys["a"])


@pytest.fixture
def method(jwks_server: JWKSServer, rsa_keys: dict[str, rsa.RSAPrivateKey]) -> Any:
    def make(name: str) -> Method:
        return Method(name, jwks_server, rsa_keys["a"])

    return make


async def _assert_ledger_consistent(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        assert await check_consistency(session) == []


async def _link(client: httpx.AsyncClient, headers: dict[str, str], other: Method) -> httpx.Response:
    return await client.post(URL, json=other.link_body(), headers=headers)


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(METHODS, 2)))
async def test_each_linked_method_signs_in_to_the_same_user_and_wallet(
    first: str, second: str, api: ClientFactory, every_method: dict[str, Any], method: Any
) -> None:
    one, two = method(first), method(second)
    async with api(**every_method) as (client, runtime):
        headers = await one.sign_up(client)
        me = (await client.get("/api/v1/me", headers=headers)).json()
        linked = await _link(client, headers, two)
        assert linked.status_code == 201, linked.text
        assert (linked.json()["provider"], linked.json()["merged"]) == (second, False)
        via_second, via_first = await two.me(client), await one.me(client)
        listed = (await client.get(URL, headers=headers)).json()
        await _assert_ledger_consistent(runtime)
    assert via_second["id"] == via_first["id"] == me["id"]
    # One wallet, one sign-up bonus.
    assert via_second["star_balance"] == runtime.settings.signup_bonus_stars
    assert sorted(item["provider"] for item in listed["items"]) == sorted([first, second])
    assert listed["total"] == 2


@pytest.mark.parametrize("linked", METHODS)
async def test_a_pristine_account_holding_the_identity_is_merged_without_a_second_bonus(
    linked: str, api: ClientFactory, every_method: dict[str, Any], method: Any, backend: dict[str, str]
) -> None:
    first = "telegram" if linked != "telegram" else "clerk"
    one, two = method(first), method(linked)
    async with api(**every_method, **backend) as (client, runtime):
        headers = await one.sign_up(client)
        keeper = (await client.get("/api/v1/me", headers=headers)).json()
        absorbed = await two.sign_up(client)  # a second account that only got its bonus
        absorbed_id = (await client.get("/api/v1/me", headers=absorbed)).json()["id"]
        merged = await _link(client, headers, two)
        assert merged.status_code == 201, merged.text
        assert merged.json()["merged"] is True
        after = await two.me(client)
        again = await _link(client, headers, two)  # linking what is already linked changes nothing
        old_session = await client.get("/api/v1/me", headers=absorbed)
        await _assert_ledger_consistent(runtime)
        async with runtime.db.session() as session:
            tombstone = await session.get(User, uuid.UUID(absorbed_id))
            assert tombstone is not None
            closed = (tombstone.star_balance, tombstone.deleted_at is not None, tombstone.email)
            rows = (
                await session.execute(
                    select(WalletTransaction.transaction_type, WalletTransaction.amount)
                    .where(WalletTransaction.user_id == tombstone.id)
                    .order_by(WalletTransaction.seq)
                )
            ).all()
    assert after["id"] == keeper["id"]
    assert after["star_balance"] == keeper["star_balance"] == runtime.settings.signup_bonus_stars
    assert again.status_code == 200
    assert again.json()["merged"] is False
    bonus = runtime.settings.signup_bonus_stars
    # The absorbed account's bonus is taken back by a compensating row (the ledger is append-only).
    assert [tuple(row) for row in rows] == [("signup_bonus", bonus), ("revoke", -bonus)]
    assert closed == (0, True, None)
    if linked in ("password", "telegram"):
        # Conjure's own token of the absorbed account no longer works...
        assert old_session.status_code == 401
    else:
        # ...while the provider's token now reaches the account it was linked to.
        assert old_session.json()["id"] == keeper["id"]


async def test_an_identity_of_a_used_account_is_refused(
    api: ClientFactory, every_method: dict[str, Any], method: Any, backend: dict[str, str]
) -> None:
    one, two = method("password"), method("auth0")
    async with api(**every_method, **backend) as (client, runtime):
        headers = await one.sign_up(client)
        used = await two.me(client)
        async with runtime.db.session() as session:
            # Activity beyond the bonus: an operator's grant (any ledger row, job, payment, key...).
            await grant(session, uuid.UUID(used["id"]), currency="star", amount=2, reason="support gift")
        refused = await _link(client, headers, two)
        still = await two.me(client)
        listed = (await client.get(URL, headers=headers)).json()
        await _assert_ledger_consistent(runtime)
    assert refused.status_code == 409
    assert refused.json()["code"] == "identity_in_use"
    assert still["id"] == used["id"]
    assert still["star_balance"] == runtime.settings.signup_bonus_stars + 2
    assert [item["provider"] for item in listed["items"]] == ["password"]


async def test_an_account_with_app_data_is_not_pristine(
    api: ClientFactory, every_method: dict[str, Any], method: Any
) -> None:
    one, two = method("clerk"), method("firebase")
    async with api(**every_method) as (client, _runtime):
        headers = await one.sign_up(client)
        other = await two.sign_up(client)
        project = await client.post("/api/v1/projects", json={"name": "Elm St"}, headers=other)
        assert project.status_code == 201, project.text
        refused = await _link(client, headers, two)
    assert refused.status_code == 409
    assert refused.json()["code"] == "identity_in_use"


async def test_linking_a_used_email_needs_its_password(
    api: ClientFactory, every_method: dict[str, Any], method: Any
) -> None:
    one, two = method("telegram"), method("password")
    async with api(**every_method) as (client, _runtime):
        headers = await one.sign_up(client)
        await two.sign_up(client)
        wrong = await client.post(URL, json=two.link_body(password="not the password"), headers=headers)
        listed = (await client.get(URL, headers=headers)).json()
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_credentials"
    assert listed["total"] == 1


async def test_a_token_of_another_provider_or_forged_init_data_is_refused(
    api: ClientFactory, every_method: dict[str, Any], method: Any
) -> None:
    one, clerk = method("password"), method("clerk")
    async with api(**every_method) as (client, _runtime):
        headers = await one.sign_up(client)
        mislabeled = await client.post(
            URL, json={"provider": "auth0", "token": clerk.token()}, headers=headers
        )
        forged = await client.post(
            URL,
            json={"provider": "telegram", "init_data": "user=%7B%22id%22%3A1%7D&hash=00"},
            headers=headers,
        )
        unknown = await client.post(URL, json={"provider": "myspace", "token": "x"}, headers=headers)
        anonymous = await client.post(URL, json=clerk.link_body())
    assert (mislabeled.status_code, mislabeled.json()["code"]) == (401, "invalid_token")
    assert (forged.status_code, forged.json()["code"]) == (401, "invalid_init_data")
    assert unknown.status_code == 422
    assert anonymous.status_code == 401


async def test_unlinking_never_removes_the_last_sign_in(
    api: ClientFactory, every_method: dict[str, Any], method: Any
) -> None:
    one, two, three = method("password"), method("telegram"), method("telegram")
    async with api(**every_method) as (client, runtime):
        headers = await one.sign_up(client)
        user_id = (await client.get("/api/v1/me", headers=headers)).json()["id"]
        assert (await _link(client, headers, two)).status_code == 201
        second_telegram = await _link(client, headers, three)
        items = (await client.get(URL, headers=headers)).json()["items"]
        by_provider = {item["provider"]: item["id"] for item in items}
        removed = await client.delete(f"{URL}/{by_provider['password']}", headers=headers)
        login = await client.post(
            "/api/v1/auth/login", json={"email": one.email, "password": "correct horse battery"}
        )
        last = await client.delete(f"{URL}/{by_provider['telegram']}", headers=headers)
        gone = await client.delete(f"{URL}/{by_provider['password']}", headers=headers)
        still = await two.me(client)
        async with runtime.db.session() as session:
            count = await session.scalar(select(func.count()).select_from(User))
    assert (second_telegram.status_code, second_telegram.json()["code"]) == (409, "provider_already_linked")
    assert removed.status_code == 204
    assert login.status_code == 401  # the password sign-in is gone
    assert (last.status_code, last.json()["code"]) == (409, "last_identity")
    assert gone.status_code == 404
    assert still["id"] == user_id
    assert count == 1


async def test_an_unlinked_provider_identity_signs_up_afresh(
    api: ClientFactory, every_method: dict[str, Any], method: Any
) -> None:
    one, two = method("auth0"), method("firebase")
    async with api(**every_method) as (client, _runtime):
        headers = await one.sign_up(client)
        user_id = (await client.get("/api/v1/me", headers=headers)).json()["id"]
        await _link(client, headers, two)
        auth0_id = next(
            item["id"]
            for item in (await client.get(URL, headers=headers)).json()["items"]
            if item["provider"] == "auth0"
        )
        removed = await client.delete(f"{URL}/{auth0_id}", headers=await two.sign_in_headers(client))
        fresh = await one.me(client)
    assert removed.status_code == 204
    assert fresh["id"] != user_id


async def test_two_accounts_racing_to_absorb_one_pristine_account_merge_it_once(
    api: ClientFactory, every_method: dict[str, Any], method: Any, backend: dict[str, str]
) -> None:
    one, two, prize = method("password"), method("auth0"), method("telegram")
    async with api(**every_method, **backend) as (client, runtime):
        sessions = [await one.sign_up(client), await two.sign_up(client)]
        ids = [(await client.get("/api/v1/me", headers=headers)).json()["id"] for headers in sessions]
        await prize.sign_up(client)
        answers = await asyncio.gather(*(_link(client, headers, prize) for headers in sessions))
        owner = await prize.me(client)
        await _assert_ledger_consistent(runtime)
        async with runtime.db.session() as session:
            revokes = await session.scalar(
                select(func.count())
                .select_from(WalletTransaction)
                .where(WalletTransaction.transaction_type == "revoke")
            )
    assert sorted(answer.status_code for answer in answers) == [201, 409], [a.text for a in answers]
    winner = next(i for i, answer in enumerate(answers) if answer.status_code == 201)
    assert owner["id"] == ids[winner]
    assert owner["star_balance"] == runtime.settings.signup_bonus_stars
    assert revokes == 1  # the absorbed account's bonus was taken back once
