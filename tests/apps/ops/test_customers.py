"""Customers' PII: encrypted in the database (file and rows), readable through the API, found by
keyed hash, exported, and erased while the bookings' non-personal facts stay."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.apps.ops.conftest import Ops

PII = ("Ada Lovelace", "ada@example.com", "+14155550100", "1 Infinite Loop")


async def _raw_rows(ops: Ops) -> str:
    async with ops.api.runtime.db.session() as session:
        rows: list[Any] = []
        for table in ("ops_customers", "bookings", "leads"):
            rows += (await session.execute(text(f"SELECT * FROM {table}"))).all()
    return repr(rows)


def _database_bytes(database_url: str) -> bytes:
    path = Path(database_url.split("///", 1)[1])
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(p.read_bytes() for p in files if p.exists())


async def test_pii_is_encrypted_at_rest_and_readable_through_the_api(
    make_ops: Any, backend: dict[str, str]
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner = await ops.station("privacy")
    customer = await ops.customer(sid, owner)
    assert (customer["name"], customer["email"], customer["phone"]) == PII[:3]
    booking = (await ops.booking(sid, owner, customer["id"])).json()
    assert booking["address"] == "1 Infinite Loop, Cupertino"

    raw = await _raw_rows(ops)
    assert all(value not in raw for value in PII)
    assert "v1:" in raw  # ciphertext is there instead
    if backend["database_url"].startswith("sqlite"):
        stored = _database_bytes(backend["database_url"])
        assert all(value.encode() not in stored for value in PII)

    base = f"/api/v1/ops/stations/{sid}/customers"
    found = (await ops.client.get(base, params={"email": "ADA@example.com"}, headers=owner)).json()
    assert [c["id"] for c in found["items"]] == [customer["id"]]
    by_phone = (await ops.client.get(base, params={"phone": "+14155550100"}, headers=owner)).json()
    assert by_phone["total"] == 1
    assert (await ops.client.get(base, params={"email": "eve@example.com"}, headers=owner)).json()[
        "total"
    ] == 0
    sorted_ = await ops.client.get(base, params={"sort": "name"}, headers=owner)
    assert sorted_.status_code == 422  # only allow-listed sorts


async def test_customers_are_searched_by_name_part_or_exact_email_or_phone(
    make_ops: Any, backend: dict[str, str]
) -> None:
    """``q``: a part of the name in any case (names are encrypted: matched after decrypting), or
    the whole email or phone (keyed hash); another station's customers never match."""
    ops: Ops = await make_ops(**backend)
    sid, owner = await ops.station("search")
    ada = await ops.customer(sid, owner)
    grace = await ops.customer(
        sid, owner, name="Grace Hopper", email="grace@example.com", phone="+14155550111"
    )
    await ops.customer(sid, owner, name="Alan Turing", email="alan@example.com", phone="+14155550122")
    other_sid, other_owner = await ops.station("elsewhere")
    await ops.customer(other_sid, other_owner, name="Ada Other", email="ada2@example.com")
    base = f"/api/v1/ops/stations/{sid}/customers"

    async def search(q: str) -> list[str]:
        response = await ops.client.get(base, params={"q": q}, headers=owner)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return [c["name"] for c in body["items"]]

    assert await search("LOVE") == ["Ada Lovelace"]
    assert await search(" hopper ") == ["Grace Hopper"]
    assert sorted(await search("a")) == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert await search("GRACE@example.com") == ["Grace Hopper"]
    assert await search("+14155550100") == ["Ada Lovelace"]
    assert await search("example.com") == []  # emails and phones match whole (they are hashed)
    assert await search("Other") == []
    erased = await ops.client.post(f"{base}/{grace['id']}/erase", headers=owner)
    assert erased.status_code == 200, erased.text
    assert await search("hopper") == []
    assert [
        c["id"] for c in (await ops.client.get(base, params={"q": "ada"}, headers=owner)).json()["items"]
    ] == [ada["id"]]
    assert (await ops.client.get(base, params={"q": "x" * 201}, headers=owner)).status_code == 422


async def test_export_and_erase(ops: Ops) -> None:
    sid, owner = await ops.station("erase")
    customer = await ops.customer(sid, owner, marketing_email=True)
    booking = (await ops.booking(sid, owner, customer["id"], notes="Ada's birthday")).json()
    base = f"/api/v1/ops/stations/{sid}/customers/{customer['id']}"
    export = (await ops.client.get(f"{base}/export", headers=owner)).json()
    assert export["customer"]["email"] == "ada@example.com"
    assert [(b["id"], b["address"], b["notes"]) for b in export["bookings"]] == [
        (booking["id"], "1 Infinite Loop, Cupertino", "Ada's birthday")
    ]

    erased = await ops.client.post(f"{base}/erase", headers=owner)
    assert erased.status_code == 200
    assert erased.json() | {"id": None, "created_at": None} == {
        "id": None,
        "name": None,
        "email": None,
        "phone": None,
        "marketing_email": False,
        "marketing_sms": False,
        "erased": True,
        "created_at": None,
    }
    after = (await ops.client.get(f"{base}/export", headers=owner)).json()
    kept = after["bookings"][0]
    assert (kept["guests"], kept["package"], kept["status"], kept["event_date"]) == (
        12,
        "deluxe",
        "pending",
        booking["event_date"],
    )
    assert (kept["address"], kept["notes"]) == (None, None)
    raw = await _raw_rows(ops)
    assert "Ada" not in raw
    change = await ops.client.patch(base, json={"name": "Ada again"}, headers=owner)
    assert (change.status_code, change.json()["code"]) == (409, "customer_erased")
    lookup = await ops.client.get(
        f"/api/v1/ops/stations/{sid}/customers", params={"email": "ada@example.com"}, headers=owner
    )
    assert lookup.json()["total"] == 0
    assert uuid.UUID(customer["id"])


async def test_text_with_control_characters_is_refused_not_a_500(
    make_ops: Any, backend: dict[str, str]
) -> None:
    # PostgreSQL cannot store NUL (nor a lone surrogate) in text: unchecked, the insert is a 500 there.
    ops: Ops = await make_ops(**backend)
    sid, owner = await ops.station("controls")
    base = f"/api/v1/ops/stations/{sid}"
    # As JSON escapes on the wire (a lone surrogate cannot be encoded any other way).
    for name in ("Ada\\u0000Lovelace", "Ada\\u0007", "Ada\\ud800"):
        made = await ops.client.post(
            f"{base}/customers",
            content=f'{{"name": "{name}"}}',
            headers={**owner, "content-type": "application/json"},
        )
        assert (made.status_code, made.json()["code"]) == (422, "validation_error"), name
    form = {"name": "Sam", "email": "sam@example.com", "message": "Party\x00 for 20?"}
    public = await ops.client.post("/api/v1/ops/public/controls/leads", json=form)
    assert (public.status_code, public.json()["code"]) == (422, "validation_error")
    # Line breaks and tabs in a message are text, not control characters.
    fine = await ops.client.post(
        "/api/v1/ops/public/controls/leads", json={**form, "message": "Party for 20?\r\n\tSaturday"}
    )
    assert fine.status_code == 202, fine.text
    leads = (await ops.client.get(f"{base}/leads", headers=owner)).json()["items"]
    assert [lead["message"] for lead in leads] == ["Party for 20?\r\n\tSaturday"]
