"""Per-customer keys of the AI audit's texts: sealed with the customer's key, unreadable (and
marked erased) once erasure deletes it, the append-only rows kept; one key however many make it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from conjure.apps.ops import customer_keys, texts
from conjure.apps.ops.crypto import CustomerCipher, PIICipher, cipher_for
from conjure.apps.ops.models import AuditEntry, CustomerKey, Thread
from tests.apps.ops.conftest import Ops
from tests.apps.ops.test_texts import ASKED, _asked, _review_drafted, _station


async def _count(ops: Ops, model: Any) -> int:
    async with ops.api.runtime.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_erased_customers_audit_texts_read_as_erased_and_the_rows_stay(
    make_ops: Any, backend: dict[str, str]
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner, address = await _station(ops, "shredded")
    base = f"/api/v1/ops/stations/{sid}"
    gone_thread = await _asked(ops, address, sender="+14155550101")
    kept_thread = await _asked(
        ops, address, "I want to book a party for 40 people on Friday", sender="+14155550102"
    )
    drafts = (await ops.client.get(f"{base}/drafts", headers=owner)).json()["items"]
    gone_draft = next(d for d in drafts if d["thread_id"] == str(gone_thread))
    edit = {"text": "Saturday works, Mango"}
    approved = await ops.client.post(f"{base}/drafts/{gone_draft['id']}/approve", json=edit, headers=owner)
    assert approved.is_success, approved.text
    review = await _review_drafted(ops, base, owner)
    gone = (await ops.client.get(f"{base}/inbox/{gone_thread}", headers=owner)).json()["customer_id"]
    kept = (await ops.client.get(f"{base}/inbox/{kept_thread}", headers=owner)).json()["customer_id"]

    async with ops.api.runtime.db.session() as session:
        sealed = [a for a in await session.scalars(select(AuditEntry)) if "text_enc" in (a.output or {})]
    # Whose key sealed each audit text (the stored output names the customer; none: the station's).
    owner_of = {str(a.id): a.output.get("customer_id") for a in sealed if isinstance(a.output, dict)}
    assert sorted((a.action, owner_of[str(a.id)]) for a in sealed if a.action != "review_reply") == sorted(
        [("draft.edited", gone), ("draft_reply", gone), ("draft_reply", kept)]
    )
    assert [owner_of[str(a.id)] for a in sealed if a.action == "review_reply"] == [None]  # no customer
    assert await _count(ops, CustomerKey) == 2

    def texts_by(listed: list[dict[str, Any]]) -> dict[tuple[str, str | None], tuple[Any, bool]]:
        """(action, whose key) → (the text shown, text_erased)."""
        return {
            (a["action"], owner_of[a["id"]]): (a["output"]["text"], a["text_erased"])
            for a in listed
            if a["id"] in owner_of
        }

    before = (await ops.client.get(f"{base}/audit", headers=owner)).json()
    shown = texts_by(before["items"])
    assert shown[("draft.edited", gone)] == (edit["text"], False)
    assert shown[("draft_reply", gone)] == (gone_draft["text"], False)
    assert shown[("review_reply", None)] == (review["reply_draft"], False)
    kept_text = shown[("draft_reply", kept)]

    assert (await ops.client.post(f"{base}/customers/{gone}/erase", headers=owner)).is_success
    after = (await ops.client.get(f"{base}/audit", headers=owner)).json()
    assert after["total"] == before["total"]  # append-only: every row is still there
    shown = texts_by(after["items"])
    assert shown[("draft.edited", gone)] == (None, True)
    assert shown[("draft_reply", gone)] == (None, True)
    assert shown[("draft_reply", kept)] == kept_text
    assert shown[("review_reply", None)] == (review["reply_draft"], False)
    assert await _count(ops, CustomerKey) == 1
    exported = await ops.client.get(f"{base}/audit/export", headers=owner)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    erased = [(r["action"], json.loads(r["output"])["text"]) for r in rows if r["text_erased"] == "True"]
    assert sorted(erased) == [("draft.edited", None), ("draft_reply", None)]


async def _asking_customer(ops: Ops, address: str) -> uuid.UUID:
    """The customer of a new thread started by ``ASKED`` at ``address``."""
    stored = await ops.inbound(ASKED, to=address)
    assert stored is not None
    async with ops.api.runtime.db.session() as session:
        thread = await session.get(Thread, stored.thread_id)
        assert thread is not None
        assert thread.customer_id is not None
        return thread.customer_id


@pytest.mark.parametrize("lock", [True, False])
async def test_two_first_uses_of_a_customers_key_at_once_end_with_one_key(
    make_ops: Any, backend: dict[str, str], lock: bool
) -> None:
    ops: Ops = await make_ops(**backend)
    _, _, address = await _station(ops, f"one-key-{str(lock).lower()}")
    rt = ops.api.runtime
    customer_id = await _asking_customer(ops, address)
    cipher = cipher_for(rt.settings)
    # PostgreSQL: both transactions are open before either makes the key (SQLite takes its write
    # lock at BEGIN, so there the second waits for the first at its first statement).
    both_open = asyncio.Barrier(1 if rt.db.is_sqlite else 2)

    async def first_use() -> CustomerCipher:
        async with rt.db.session() as session:
            await session.execute(select(1))
            await both_open.wait()
            return await customer_keys.sealing_cipher(session, cipher, customer_id, lock=lock)

    one, other = await asyncio.gather(first_use(), first_use())
    assert one.cipher == other.cipher
    assert await _count(ops, CustomerKey) == 1
    async with rt.db.session() as session:
        again = await customer_keys.opening_ciphers(session, cipher, [customer_id])
    assert again == {customer_id: one.cipher}


def test_a_customers_text_opens_with_their_key_only() -> None:
    station_id, audit_id, customer, other = (uuid.uuid4() for _ in range(4))
    here, elsewhere = (PIICipher(os.urandom(32), os.urandom(32)) for _ in range(2))
    material = os.urandom(32)
    theirs = here.for_customer(customer, material)
    sealed = texts.seal_output(
        here, station_id, audit_id, {"text": "Mango"}, CustomerCipher(customer, theirs)
    )
    assert sealed is not None
    assert sealed["customer_id"] == str(customer)

    def opened(keys: dict[uuid.UUID, PIICipher], output: dict[str, Any] = sealed) -> Any:
        result: Any = texts.open_output(here, station_id, audit_id, output, customers=keys, lenient=True)
        return result["text"]

    assert opened({customer: here.for_customer(customer, material)}) == "Mango"
    assert opened({customer: elsewhere.for_customer(customer, material)}) is None  # the row, another master
    assert opened({customer: here.for_customer(customer, os.urandom(32))}) is None  # the master, other bytes
    assert opened({customer: here}) is None  # the station's key does not open it
    # Moved to another customer's field: that customer's key (even made of the same bytes) fails.
    moved = {**sealed, "customer_id": str(other)}
    assert opened({other: here.for_customer(other, material)}, moved) is None
    with pytest.raises(texts.TextErased):
        texts.open_output(here, station_id, audit_id, sealed, customers={})
    # A row from before: no customer named, the station's key opens it.
    before = texts.seal_output(here, station_id, audit_id, {"text": "Papaya"})
    assert before is not None
    assert "customer_id" not in before
    assert texts.open_output(here, station_id, audit_id, before) == {"text": "Papaya"}


async def test_an_erased_customer_gets_no_key_and_their_new_audit_text_reads_as_erased(
    make_ops: Any, backend: dict[str, str]
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner, address = await _station(ops, "erased-first")
    rt = ops.api.runtime
    customer_id = await _asking_customer(ops, address)
    base = f"/api/v1/ops/stations/{sid}"
    assert (await ops.client.post(f"{base}/customers/{customer_id}/erase", headers=owner)).is_success
    cipher = cipher_for(rt.settings)
    async with rt.db.session() as session:
        # What an AI call whose model answered after the erasure writes to the audit.
        output = await customer_keys.seal_audit_output(
            session, cipher, uuid.UUID(sid), uuid.uuid4(), {"text": "Mango"}, customer_id
        )
    assert output is not None
    assert output["customer_id"] == str(customer_id)
    assert await _count(ops, CustomerKey) == 0
    async with rt.db.session() as session:
        keys = await customer_keys.opening_ciphers(session, cipher, [customer_id])
    assert keys == {}
