"""Message text at rest: sealed in every table that holds it (messages, drafts, leads, bookings'
notes, the audit's AI text; never in a job's payload), shown in clear through the API, read from
rows stored before 0026 until the backfill seals them, refused when moved to another row or
station, and erased."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text, update

from conjure.apps.ops import ai, texts
from conjure.apps.ops.crypto import PIICipher
from conjure.apps.ops.inbox import triage
from conjure.apps.ops.models import Booking, Draft, InboxMessage, Lead, Review
from conjure.apps.ops.spec import APP
from conjure.apps.ops.tasks import triage_message
from conjure.apps.ops.texts import SealedText, seal_pending_texts
from conjure.jobs.registry import PermanentJobError
from tests.apps.ops.conftest import Ops

ASKED = "I want to book a party for 30 people on Saturday"  # Level 2: a draft waits
TABLES = ("inbox_messages", "ops_drafts", "leads", "reviews", "bookings", "ops_ai_audit", "jobs")


async def _raw(ops: Ops, *tables: str) -> str:
    async with ops.api.runtime.db.session() as session:
        rows: list[Any] = []
        for table in tables:
            rows += (await session.execute(text(f"SELECT * FROM {table}"))).all()
    return repr(rows)


async def _sql(ops: Ops, statement: str, **params: Any) -> list[Any]:
    async with ops.api.runtime.db.session() as session:
        result = await session.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


async def _station(ops: Ops, slug: str) -> tuple[str, dict[str, str], str]:
    sid, owner = await ops.station(slug)
    address = f"+1555{uuid.uuid4().int % 10**7:07d}"
    body = {"channel": "sms", "address": address}
    assert (
        await ops.client.post(f"/api/v1/ops/stations/{sid}/channels", json=body, headers=owner)
    ).is_success
    return sid, owner, address


async def _asked(ops: Ops, address: str, message: str = ASKED, sender: str = "+14155550123") -> uuid.UUID:
    """An inbound message, triaged to Level 2 (a pending draft); its thread."""
    stored = await ops.inbound(message, to=address, sender=sender)
    assert stored is not None
    rt = ops.api.runtime
    assert await triage(rt.db, rt.settings, rt.limiter, stored.id) == 2
    return stored.thread_id


async def _review_drafted(ops: Ops, base: str, owner: dict[str, str]) -> dict[str, Any]:
    body = {"rating": 5, "text": "Lovely", "reviewer_name": "Quinn"}
    created = (await ops.client.post(f"{base}/reviews", json=body, headers=owner)).json()
    drafted: dict[str, Any] = (
        await ops.client.post(f"{base}/reviews/{created['id']}/draft", headers=owner)
    ).json()
    return drafted


@pytest.mark.parametrize(
    ("entry", "model", "kind"),
    [
        (texts.MESSAGE, InboxMessage, "message"),
        (texts.DRAFT, Draft, "draft"),
        (texts.LEAD_MESSAGE, Lead, "lead_message"),
        (texts.REVIEW_DRAFT, Review, "review_draft"),
        (texts.BOOKING_NOTES, Booking, "booking_notes"),
    ],
)
def test_stored_ciphertexts_bind_station_kind_and_row_as_they_always_have(
    entry: SealedText[Any, Any], model: Any, kind: str
) -> None:
    cipher = PIICipher(bytes(range(32)), bytes(range(32, 64)))
    row = model(id=uuid.uuid4(), station_id=uuid.uuid4())
    stored_aad = f"{row.station_id}:{kind}:{row.id}"  # the format of every row sealed so far
    setattr(row, entry.sealed.key, cipher.encrypt("Stored before", stored_aad))
    assert entry.read(cipher, row) == "Stored before"
    entry.seal_into(cipher, row, "Sealed now")
    assert cipher.decrypt(getattr(row, entry.sealed.key), stored_aad) == "Sealed now"
    assert getattr(row, entry.plain.key) == entry.cleared


async def test_message_text_is_sealed_at_rest_shown_in_clear_and_erased(
    make_ops: Any, backend: dict[str, str]
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner, address = await _station(ops, "sealed")
    base = f"/api/v1/ops/stations/{sid}"
    thread = await _asked(ops, address)
    drafts = (await ops.client.get(f"{base}/drafts", headers=owner)).json()["items"]
    drafted = drafts[0]["text"]
    assert (drafts[0]["message_text"], "cook for you" in drafted) == (ASKED, True)
    typed = await ops.client.post(
        f"{base}/inbox/{thread}/reply", json={"text": "Chef Kiwi calls"}, headers=owner
    )
    assert typed.json()["text"] == "Chef Kiwi calls"
    edit = {"text": "Saturday works, Mango"}
    assert (
        await ops.client.post(f"{base}/drafts/{drafts[0]['id']}/approve", json=edit, headers=owner)
    ).is_success
    lead = (await ops.client.post(f"{base}/inbox/{thread}/lead", headers=owner)).json()
    assert lead["message"] == ASKED
    form = {"name": "Pat", "email": "pat@example.com", "message": "Papaya party"}
    assert (await ops.client.post(f"{base}/leads", json=form, headers=owner)).json()[
        "message"
    ] == "Papaya party"

    review = await _review_drafted(ops, base, owner)
    assert review["reply_draft"].startswith("Thank you so much, Quinn!")
    customer = lead["customer_id"]
    booked = (await ops.booking(sid, owner, customer, notes="Guava allergy at table 2")).json()
    shown = (await ops.client.get(f"{base}/bookings/{booked['id']}", headers=owner)).json()
    assert (booked["notes"], shown["notes"]) == ("Guava allergy at table 2",) * 2

    said = (ASKED, drafted, "Chef Kiwi", "Saturday works, Mango", "Papaya party", review["reply_draft"])
    said += ("Guava allergy",)
    raw = await _raw(ops, *TABLES)
    assert [s for s in said if s in raw] == []
    assert (
        raw.count("v1:") >= 10
    )  # 3 messages, a draft, 2 leads, a review's draft, a booking's notes, the audit's 2 drafts and edit
    if backend["database_url"].startswith("sqlite"):
        path = Path(backend["database_url"].split("///", 1)[1])
        stored = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
        assert [s for s in said if s.encode() in stored] == []

    detail = (await ops.client.get(f"{base}/inbox/{thread}", headers=owner)).json()
    assert [m["text"] for m in detail["messages"]] == [ASKED, "Chef Kiwi calls", "Saturday works, Mango"]
    listed = (await ops.client.get(f"{base}/inbox", headers=owner)).json()["items"]
    assert [t["last_text"] for t in listed] == ["Saturday works, Mango"]
    approved = (await ops.client.get(f"{base}/drafts?status=approved", headers=owner)).json()["items"]
    assert [(d["text"], d["message_text"]) for d in approved] == [(drafted, ASKED)]
    audit = (await ops.client.get(f"{base}/audit", headers=owner)).json()["items"]
    outputs = {a["action"]: a["output"] for a in audit}
    assert (outputs["draft_reply"]["text"], outputs["draft.edited"]) == (drafted, edit)
    assert outputs["review_reply"]["text"] == review["reply_draft"]
    listed_reviews = (await ops.client.get(f"{base}/reviews", headers=owner)).json()["items"]
    assert [r["reply_draft"] for r in listed_reviews] == [review["reply_draft"]]

    assert detail["customer_id"] == customer
    exported = (await ops.client.get(f"{base}/customers/{customer}/export", headers=owner)).json()
    assert [m["text"] for m in exported["messages"]] == [ASKED, "Chef Kiwi calls", "Saturday works, Mango"]
    assert (await ops.client.post(f"{base}/customers/{customer}/erase", headers=owner)).is_success
    erased = (await ops.client.get(f"{base}/customers/{customer}/export", headers=owner)).json()
    assert {m["text"] for m in erased["messages"]} | {x["message"] for x in erased["leads"]} == {"[erased]"}
    for table, plain, sealed in (("inbox_messages", "text", "text_enc"), ("ops_drafts", "text", "text_enc")):
        assert set(await _sql(ops, f"SELECT {plain}, {sealed} FROM {table}")) == {("[erased]", None)}
    assert ("[erased]", None) in await _sql(ops, "SELECT message, message_enc FROM leads")
    assert await _sql(ops, "SELECT notes, notes_enc FROM bookings") == [(None, None)]
    gone = await ops.client.get(f"{base}/drafts?status=approved", headers=owner)
    assert [d["text"] for d in gone.json()["items"]] == ["[erased]"]


async def test_text_stored_in_clear_before_0026_reads_before_and_after_the_backfill(
    make_ops: Any, backend: dict[str, str]
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner, address = await _station(ops, "backfill")
    base = f"/api/v1/ops/stations/{sid}"
    thread = await _asked(ops, address)
    assert (await ops.client.post(f"{base}/inbox/{thread}/lead", headers=owner)).is_success
    await _review_drafted(ops, base, owner)
    lead = (await ops.client.get(f"{base}/leads", headers=owner)).json()["items"][0]
    booking = (await ops.booking(sid, owner, lead["customer_id"], notes="New notes")).json()
    # The rows as 0026 finds them: text in the plain column, nothing sealed.
    for table, plain, sealed, old in (
        ("inbox_messages", "text", "text_enc", "Old message"),
        ("ops_drafts", "text", "text_enc", "Old draft"),
        ("leads", "message", "message_enc", "Old lead"),
        ("reviews", "reply_draft", "reply_draft_enc", "Old review reply"),
        ("bookings", "notes", "notes_enc", "Old notes"),
    ):
        await _sql(ops, f"UPDATE {table} SET {plain} = :old, {sealed} = NULL", old=old)

    async def shown() -> tuple[Any, ...]:
        detail = (await ops.client.get(f"{base}/inbox/{thread}", headers=owner)).json()
        draft = (await ops.client.get(f"{base}/drafts", headers=owner)).json()["items"][0]
        lead = (await ops.client.get(f"{base}/leads", headers=owner)).json()["items"][0]
        review = (await ops.client.get(f"{base}/reviews", headers=owner)).json()["items"][0]
        booked = (await ops.client.get(f"{base}/bookings/{booking['id']}", headers=owner)).json()
        return (
            detail["last_text"],
            draft["text"],
            draft["message_text"],
            lead["message"],
            review["reply_draft"],
            booked["notes"],
        )

    before = await shown()
    assert before == ("Old message", "Old draft", "Old message", "Old lead", "Old review reply", "Old notes")
    assert seal_pending_texts in [task.run for task in APP.periodic]  # the workers run it
    assert await seal_pending_texts(ops.api.runtime) == 5
    assert await seal_pending_texts(ops.api.runtime) == 0
    assert await shown() == before
    assert "Old " not in await _raw(ops, "inbox_messages", "ops_drafts", "leads", "reviews", "bookings")
    rows = await _sql(
        ops, "SELECT text, text_enc FROM inbox_messages UNION ALL SELECT text, text_enc FROM ops_drafts"
    )
    rows += await _sql(ops, "SELECT message, message_enc FROM leads")
    assert [(plain, sealed[:3]) for plain, sealed in rows] == [("", "v1:")] * 3
    (review,) = await _sql(ops, "SELECT reply_draft, reply_draft_enc FROM reviews")
    assert (review[0], review[1][:3]) == (None, "v1:")
    (notes,) = await _sql(ops, "SELECT notes, notes_enc FROM bookings")
    assert (notes[0], notes[1][:3]) == (None, "v1:")


async def test_a_backfill_tick_opens_a_transaction_only_for_the_tables_with_rows_to_seal(
    make_ops: Any, backend: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner, address = await _station(ops, "tick")
    thread = await _asked(ops, address)
    assert (
        await ops.client.post(f"/api/v1/ops/stations/{sid}/inbox/{thread}/lead", headers=owner)
    ).is_success
    db = ops.api.runtime.db
    session, opened = db.session, []

    def counted() -> Any:
        opened.append(1)
        return session()

    monkeypatch.setattr(db, "session", counted)
    assert (await seal_pending_texts(ops.api.runtime), len(opened)) == (0, 1)  # everything new is sealed
    await _sql(ops, "UPDATE leads SET message = 'Old lead', message_enc = NULL")
    opened.clear()
    assert (await seal_pending_texts(ops.api.runtime), len(opened)) == (1, 2)  # the check, the leads


async def test_a_ciphertext_moved_to_another_row_or_station_does_not_open(
    make_ops: Any, backend: dict[str, str]
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner, address = await _station(ops, "moved-a")
    other_sid, other_owner, other_address = await _station(ops, "moved-b")
    first = await ops.inbound("First customer's words", to=address, sender="+14155550001")
    second = await ops.inbound("Second customer's words", to=address, sender="+14155550002")
    elsewhere = await ops.inbound("Another station's words", to=other_address, sender="+14155550001")
    assert first is not None
    assert second is not None
    assert elsewhere is not None
    async with ops.api.runtime.db.session() as session:
        moved = update(InboxMessage).values(text_enc=first.text_enc)
        await session.execute(moved.where(InboxMessage.id.in_([second.id, elsewhere.id])))

    for url, headers in (
        (f"/api/v1/ops/stations/{sid}/inbox/{second.thread_id}", owner),
        (f"/api/v1/ops/stations/{other_sid}/inbox/{elsewhere.thread_id}", other_owner),
    ):
        refused = await ops.client.get(url, headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (409, "text_unreadable"), url
        assert "cannot be decrypted" in refused.json()["detail"]
    kept = await ops.client.get(f"/api/v1/ops/stations/{sid}/inbox/{first.thread_id}", headers=owner)
    assert [m["text"] for m in kept.json()["messages"]] == ["First customer's words"]
    # The list still answers: the damaged thread without its last text, which its thread explains.
    listed = (await ops.client.get(f"/api/v1/ops/stations/{sid}/inbox", headers=owner)).json()["items"]
    assert [(t["id"], t["last_text"]) for t in listed] == [
        (str(second.thread_id), None),
        (str(first.thread_id), "First customer's words"),
    ]

    # Its triage job fails for good with the reason (a retry would not open it either), not a crash.
    rt = ops.api.runtime
    job = SimpleNamespace(
        db=rt.db,
        settings=rt.settings,
        limiter=rt.limiter,
        user_events=None,
        payload={"message_id": str(second.id)},
    )
    with pytest.raises(PermanentJobError) as failed:
        await triage_message(job)  # type: ignore[arg-type]
    assert failed.value.code == "text_unreadable"


async def test_a_customer_erased_while_the_ai_drafts_gets_no_draft(
    make_ops: Any, backend: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner, address = await _station(ops, "erased-meanwhile")
    base = f"/api/v1/ops/stations/{sid}"
    stored = await ops.inbound(ASKED, to=address)
    assert stored is not None
    thread = (await ops.client.get(f"{base}/inbox/{stored.thread_id}", headers=owner)).json()
    drafting = ai.run_ai

    async def erased_meanwhile(*args: Any, **kwargs: Any) -> Any:
        """The model's answer arrives after the customer was erased (no transaction spans the call)."""
        result = await drafting(*args, **kwargs)
        if kwargs["task"] == "draft_reply":
            erased = await ops.client.post(f"{base}/customers/{thread['customer_id']}/erase", headers=owner)
            assert erased.is_success, erased.text
        return result

    monkeypatch.setattr(ai, "run_ai", erased_meanwhile)
    rt = ops.api.runtime
    assert await triage(rt.db, rt.settings, rt.limiter, stored.id) == 2
    # Nothing written from their words after the erasure: no draft waits to be sent to them.
    drafts = (await ops.client.get(f"{base}/drafts", headers=owner)).json()["items"]
    assert drafts == []
    assert await _sql(ops, "SELECT count(*) FROM ops_drafts") == [(0,)]
    # The model's draft stays in the append-only audit, sealed with the key the erasure deleted.
    audit = (await ops.client.get(f"{base}/audit?action=draft_reply", headers=owner)).json()["items"]
    assert [(a["output"]["text"], a["text_erased"]) for a in audit] == [(None, True)]
