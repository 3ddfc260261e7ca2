"""Customer name search by blind index: partial names in any case and any script are found, only
candidates are decrypted, erasure and renaming keep the index true, stations stay apart, and names
stored before the index are found (decrypted) until the backfill indexes them."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from conjure.apps.ops import customers, names
from conjure.apps.ops.crypto import PIICipher
from conjure.apps.ops.models import Customer, CustomerNameToken
from conjure.apps.ops.spec import APP
from tests.apps.ops.conftest import Ops

PEOPLE = (
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Anna Banana",
    "สมชาย ใจดี",  # Somchai Jaidee
    "ณัฐวุฒิ ศรีสุข",  # Natthawut Srisuk: no space between the parts of a part
    "王伟",  # a two-character name
)


@pytest.fixture
def decrypted(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many values of each field were decrypted (a spy on the cipher)."""
    counts: Counter[str] = Counter()
    real = PIICipher.decrypt

    def spy(self: PIICipher, token: str | None, context: str) -> str | None:
        counts[context.rsplit(":", 1)[1]] += 1
        return real(self, token, context)

    monkeypatch.setattr(PIICipher, "decrypt", spy)
    return counts


async def _station(ops: Ops, slug: str, people: tuple[str, ...] = PEOPLE) -> tuple[str, dict[str, str]]:
    sid, owner = await ops.station(slug)
    for n, name in enumerate(people):
        await ops.customer(sid, owner, name=name, email=f"c{n}@{slug}.example", phone=f"+1415555{n:04d}")
    return sid, owner


async def _search(ops: Ops, sid: str, owner: dict[str, str], q: str) -> list[str]:
    response = await ops.client.get(f"/api/v1/ops/stations/{sid}/customers", params={"q": q}, headers=owner)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return sorted(c["name"] for c in body["items"])


async def _tokens(ops: Ops, customer_id: str) -> set[int]:
    async with ops.api.runtime.db.session() as session:
        stmt = select(CustomerNameToken.token).where(CustomerNameToken.customer_id == uuid.UUID(customer_id))
        return set(await session.scalars(stmt))


def test_names_and_queries_are_normalised_and_cut_into_pieces() -> None:
    assert names.normalise("  ＡＤＡ\u3000  LoveLace ") == "ada lovelace"  # NFKC: full width
    assert names.normalise("STRASSE") == names.normalise("Straße")  # case folding, not lower()
    assert names.pieces("abc") == {"a", "b", "c", "ab", "bc", "abc"}
    assert names.pieces("a b") == {"a", "b", "a ", " b", "a b"}
    assert {"ชาย", "มช", "ใ"} <= names.pieces(names.normalise("สมชาย ใจดี"))
    assert names.query_pieces("ab") == {"ab"}
    assert names.query_pieces("ใจดี") == {"ใจด", "จดี"}


async def test_partial_names_are_found_in_any_case_and_script(make_ops: Any, backend: dict[str, str]) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner = await _station(ops, "names")
    assert await _search(ops, sid, owner, "LOVE") == ["Ada Lovelace"]
    assert await _search(ops, sid, owner, "ａｄａ ｌｏ") == ["Ada Lovelace"]  # full width, across the space
    assert await _search(ops, sid, owner, " hopper ") == ["Grace Hopper"]
    assert await _search(ops, sid, owner, "an") == ["Alan Turing", "Anna Banana"]
    assert await _search(ops, sid, owner, "A") == [
        "Ada Lovelace",
        "Alan Turing",
        "Anna Banana",
        "Grace Hopper",
    ]
    assert await _search(ops, sid, owner, "ชาย") == ["สมชาย ใจดี"]
    assert await _search(ops, sid, owner, "ใจดี") == ["สมชาย ใจดี"]
    assert await _search(ops, sid, owner, "วุฒิศรี") == []  # the name has a space there
    assert await _search(ops, sid, owner, "ณัฐวุฒิ") == ["ณัฐวุฒิ ศรีสุข"]
    assert await _search(ops, sid, owner, "王伟") == ["王伟"]
    assert await _search(ops, sid, owner, "伟") == ["王伟"]
    assert await _search(ops, sid, owner, "c2@names.example") == ["Alan Turing"]  # whole email
    assert await _search(ops, sid, owner, "+14155550001") == ["Grace Hopper"]  # whole phone
    assert await _search(ops, sid, owner, "names.example") == []


async def test_only_candidates_are_decrypted(
    make_ops: Any, backend: dict[str, str], decrypted: Counter[str]
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner = await _station(ops, "spied")
    decrypted.clear()
    assert await _search(ops, sid, owner, "Zebedee") == []
    assert await _search(ops, sid, owner, "qx") == []
    assert decrypted["name"] == 0  # the scan this replaces decrypted all seven names, twice
    assert await _search(ops, sid, owner, "lovelace") == ["Ada Lovelace"]
    assert decrypted["name"] == 2  # the one candidate, then the page shows it
    decrypted.clear()
    # "nanan": its pieces "nan" and "ana" are both in "anna banana", not together: decrypted, refused.
    assert await _search(ops, sid, owner, "nanan") == []
    assert decrypted["name"] == 1
    decrypted.clear()
    assert await _search(ops, sid, owner, "ur") == ["Alan Turing"]  # a short query: no candidate
    assert decrypted["name"] == 1  # to show it only


async def test_erasure_deletes_the_tokens_and_renaming_replaces_them(
    make_ops: Any, backend: dict[str, str]
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner = await ops.station("renames")
    ada = await ops.customer(sid, owner)
    grace = await ops.customer(sid, owner, name="Grace Hopper", email="g@example.com", phone="+14155550111")
    base = f"/api/v1/ops/stations/{sid}/customers"
    before = await _tokens(ops, ada["id"])
    assert len(before) == len(names.pieces("ada lovelace"))

    renamed = await ops.client.patch(f"{base}/{ada['id']}", json={"name": "Ada King"}, headers=owner)
    assert renamed.status_code == 200, renamed.text
    after = await _tokens(ops, ada["id"])
    assert len(after) == len(names.pieces("ada king"))
    assert before & after  # "ada " kept
    assert before - after  # "lovelace" gone
    assert await _search(ops, sid, owner, "lovelace") == []
    assert await _search(ops, sid, owner, "KING") == ["Ada King"]
    untouched = await ops.client.patch(f"{base}/{ada['id']}", json={"marketing_sms": True}, headers=owner)
    assert untouched.status_code == 200
    assert await _tokens(ops, ada["id"]) == after

    erased = await ops.client.post(f"{base}/{grace['id']}/erase", headers=owner)
    assert erased.status_code == 200, erased.text
    assert await _tokens(ops, grace["id"]) == set()
    assert await _search(ops, sid, owner, "hopper") == []
    assert await _search(ops, sid, owner, "r") == []  # "Grace Hopper" had an r; "Ada King" has none


async def test_stations_never_see_each_others_customers(make_ops: Any, backend: dict[str, str]) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner = await _station(ops, "north", ("Ada Lovelace",))
    other_sid, other_owner = await _station(ops, "south", ("Ada Lovelace", "Ada Byron"))
    assert await _search(ops, sid, owner, "ada") == ["Ada Lovelace"]
    assert await _search(ops, other_sid, other_owner, "ada") == ["Ada Byron", "Ada Lovelace"]
    assert await _search(ops, sid, owner, "byron") == []
    # The same name has other tokens in another station: the index does not link them.
    async with ops.api.runtime.db.session() as session:
        rows = (await session.execute(select(CustomerNameToken.station_id, CustomerNameToken.token))).all()
    by_station: dict[uuid.UUID, set[int]] = {}
    for station_id, token in rows:
        by_station.setdefault(station_id, set()).add(token)
    north, south = by_station[uuid.UUID(sid)], by_station[uuid.UUID(other_sid)]
    assert north
    assert not north & south


async def test_the_cap_on_name_matches_holds(
    make_ops: Any, backend: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner = await _station(ops, "capped", ("Ann Tee", "Ann Two", "Ann Three"))
    monkeypatch.setattr(customers, "NAME_MATCHES_MAX", 2)
    assert len(await _search(ops, sid, owner, "ann")) == 2  # one piece
    assert len(await _search(ops, sid, owner, "ann t")) == 2  # confirmed candidates
    assert await _search(ops, sid, owner, "ann th") == ["Ann Three"]


async def test_names_from_before_the_index_are_found_then_backfilled(
    make_ops: Any, backend: dict[str, str], decrypted: Counter[str]
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner = await _station(ops, "legacy")
    erased = await ops.customer(sid, owner, name="Gone Person", email="gone@example.com")
    await ops.client.post(f"/api/v1/ops/stations/{sid}/customers/{erased['id']}/erase", headers=owner)
    async with ops.api.runtime.db.session() as session:  # as 0025 leaves the rows it found
        await session.execute(
            update(Customer).where(Customer.name_enc.is_not(None)).values(name_indexed=False)
        )
        await session.execute(delete(CustomerNameToken))
    decrypted.clear()
    assert await _search(ops, sid, owner, "ชาย") == ["สมชาย ใจดี"]
    assert decrypted["name"] == len(PEOPLE) + 1  # every name not indexed yet, then the page

    assert names.index_pending_names in [task.run for task in APP.periodic]  # the workers run it
    assert await names.index_pending_names(ops.api.runtime) == len(PEOPLE)  # not the erased one
    assert await names.index_pending_names(ops.api.runtime) == 0
    async with ops.api.runtime.db.session() as session:
        pending = await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.name_indexed.is_(False))
        )
        total = await session.scalar(select(func.count()).select_from(CustomerNameToken))
    assert pending == 0
    assert total == sum(len(names.pieces(names.normalise(p))) for p in PEOPLE)
    decrypted.clear()
    assert await _search(ops, sid, owner, "Zebedee") == []
    assert await _search(ops, sid, owner, "ชาย") == ["สมชาย ใจดี"]
    assert decrypted["name"] == 1


async def test_a_customer_made_by_an_inbound_message_is_indexed(ops: Ops) -> None:
    """The inbox names a new sender by their number: that name is searchable like any other."""
    sid, owner = await ops.station("inbound")
    body = {"channel": "sms", "address": "+15550001000"}
    added = await ops.client.post(f"/api/v1/ops/stations/{sid}/channels", json=body, headers=owner)
    assert added.status_code == 201, added.text
    assert await ops.inbound("Table for 10?", to="+15550001000", sender="+14155550199") is not None
    assert await _search(ops, sid, owner, "0199") == ["+14155550199"]
    async with ops.api.runtime.db.session() as session:
        pending = await session.scalar(
            select(func.count()).select_from(Customer).where(~Customer.name_indexed)
        )
    assert pending == 0
