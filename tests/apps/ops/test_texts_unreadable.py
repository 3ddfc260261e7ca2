"""A text that does not decrypt (its ciphertext moved to another row) fails only where it is
needed: every list and export shows that row with the text null (logged once, without the text),
the single item still answers 409, a member's own text replaces a draft that does not open, the
public form treats such a lead as no repeat and decrypts only the same person's leads, and 0026's
downgrade says why it refuses."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import uuid
from typing import Any

import pytest
import structlog
from sqlalchemy import select, update
from structlog.testing import capture_logs

from conjure.apps.ops import texts
from conjure.apps.ops.crypto import PIICipher
from conjure.apps.ops.models import AuditEntry, Booking, Draft, InboxMessage, Lead, Review
from conjure.migrations.runner import downgrade
from tests.apps.ops.conftest import Ops
from tests.apps.ops.test_texts import ASKED, _asked, _review_drafted, _station

SEALED_COLUMN = {
    Draft: Draft.text_enc,
    InboxMessage: InboxMessage.text_enc,
    Lead: Lead.message_enc,
    Review: Review.reply_draft_enc,
    Booking: Booking.notes_enc,
}


async def _move(ops: Ops, model: Any, source: Any, target: Any) -> None:
    """Copy ``source``'s sealed text onto ``target`` (another row: it no longer opens there)."""
    column = SEALED_COLUMN[model]
    async with ops.api.runtime.db.session() as session:
        sealed = await session.scalar(select(column).where(model.id == uuid.UUID(str(source))))
        assert sealed is not None
        await session.execute(
            update(model).where(model.id == uuid.UUID(str(target))).values({column: sealed})
        )


async def _by_id(ops: Ops, url: str, headers: dict[str, str], field: str) -> dict[str, Any]:
    response = await ops.client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return {x["id"]: x[field] for x in response.json()["items"]}


async def test_every_list_shows_a_row_whose_text_does_not_open_with_that_text_null(
    make_ops: Any, backend: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner, address = await _station(ops, "damaged")
    base = f"/api/v1/ops/stations/{sid}"
    good, bad = [await _asked(ops, address, sender=f"+1415555000{n}") for n in (1, 2)]
    drafts = (await ops.client.get(f"{base}/drafts", headers=owner)).json()["items"]
    draft = {d["thread_id"]: d for d in drafts}
    details = {t: (await ops.client.get(f"{base}/inbox/{t}", headers=owner)).json() for t in (good, bad)}
    lead = {t: (await ops.client.post(f"{base}/inbox/{t}/lead", headers=owner)).json() for t in (good, bad)}
    booking = {
        t: (await ops.booking(sid, owner, details[t]["customer_id"], notes=f"Notes {n}")).json()
        for n, t in enumerate((good, bad))
    }
    reviews = [await _review_drafted(ops, base, owner) for _ in range(2)]
    await _move(ops, Draft, draft[str(good)]["id"], draft[str(bad)]["id"])
    await _move(ops, InboxMessage, details[good]["messages"][0]["id"], details[bad]["messages"][0]["id"])
    await _move(ops, Lead, lead[good]["id"], lead[bad]["id"])
    await _move(ops, Booking, booking[good]["id"], booking[bad]["id"])
    await _move(ops, Review, reviews[0]["id"], reviews[1]["id"])
    async with ops.api.runtime.db.session() as session:  # the audit is append-only: a copied row
        (original,) = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "draft_reply").limit(1)
        )
        copy = AuditEntry(
            station_id=original.station_id, action="draft_reply", actor="system", input_ref="copy",
            output=original.output,
        )  # fmt: skip
        session.add(copy)
        await session.flush()
        drafted = [original, copy]

    with capture_logs() as logged:
        # A fresh logger: the module's may have been cached (cache_logger_on_first_use) and bypass this.
        monkeypatch.setattr(texts, "log", structlog.get_logger(texts.__name__))
        listed = await _by_id(ops, f"{base}/leads", owner, "message")
    assert listed == {lead[good]["id"]: ASKED, lead[bad]["id"]: None}
    unreadable = [e for e in logged if e["event"] == "ops_text_unreadable"]
    assert [(e["kind"], e["row_id"]) for e in unreadable] == [("lead_message", lead[bad]["id"])]
    assert ASKED not in repr(logged)
    shown = (await ops.client.get(f"{base}/drafts", headers=owner)).json()["items"]
    assert {d["id"]: (d["text"], d["message_text"]) for d in shown} == {
        draft[str(good)]["id"]: (draft[str(good)]["text"], ASKED),
        draft[str(bad)]["id"]: (None, None),
    }
    assert await _by_id(ops, f"{base}/bookings", owner, "notes") == {
        booking[good]["id"]: "Notes 0",
        booking[bad]["id"]: None,
    }
    assert await _by_id(ops, f"{base}/reviews", owner, "reply_draft") == {
        reviews[0]["id"]: reviews[0]["reply_draft"],
        reviews[1]["id"]: None,
    }
    outputs = await _by_id(ops, f"{base}/audit?action=draft_reply", owner, "output")
    assert outputs[str(drafted[1].id)]["text"] is None
    assert outputs[str(drafted[0].id)]["text"] in {d["text"] for d in drafts}
    exported = await ops.client.get(f"{base}/audit/export", headers=owner)
    assert exported.status_code == 200, exported.text
    rows = {r["id"]: json.loads(r["output"]) for r in csv.DictReader(io.StringIO(exported.text))}
    assert (rows[str(drafted[1].id)]["text"], rows[str(drafted[0].id)]["text"]) == (
        None,
        outputs[str(drafted[0].id)]["text"],
    )
    customer = (
        await ops.client.get(f"{base}/customers/{details[bad]['customer_id']}/export", headers=owner)
    ).json()
    assert [m["text"] for m in customer["messages"]] == [None]
    assert ([x["message"] for x in customer["leads"]], [b["notes"] for b in customer["bookings"]]) == (
        [None],
        [None],
    )

    # One item alone still says why (409), and the intact ones read as ever.
    for url in (f"leads/{lead[bad]['id']}", f"bookings/{booking[bad]['id']}", f"inbox/{bad}"):
        refused = await ops.client.get(f"{base}/{url}", headers=owner)
        assert (refused.status_code, refused.json()["code"]) == (409, "text_unreadable"), url
    assert (await ops.client.get(f"{base}/leads/{lead[good]['id']}", headers=owner)).json()[
        "message"
    ] == ASKED


async def test_a_members_own_text_replaces_a_draft_that_does_not_open(
    make_ops: Any, backend: dict[str, str]
) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner, address = await _station(ops, "typed")
    base = f"/api/v1/ops/stations/{sid}"
    threads = [await _asked(ops, address, sender=f"+1415555001{n}") for n in range(3)]
    drafts = {
        d["thread_id"]: d["id"]
        for d in (await ops.client.get(f"{base}/drafts", headers=owner)).json()["items"]
    }
    first, second, third = (drafts[str(t)] for t in threads)
    await _move(ops, Draft, third, first)
    await _move(ops, Draft, third, second)

    as_is = await ops.client.post(f"{base}/drafts/{first}/approve", json={}, headers=owner)
    assert (as_is.status_code, as_is.json()["code"]) == (409, "text_unreadable")
    typed = await ops.client.post(
        f"{base}/drafts/{first}/approve", json={"text": "Chef calls you"}, headers=owner
    )
    assert typed.status_code == 200, typed.text
    assert (typed.json()["status"], typed.json()["edited"], typed.json()["text"]) == ("approved", True, None)
    detail = (await ops.client.get(f"{base}/inbox/{threads[0]}", headers=owner)).json()
    assert [m["text"] for m in detail["messages"]] == [ASKED, "Chef calls you"]
    rejected = await ops.client.post(f"{base}/drafts/{second}/reject", headers=owner)
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected"), rejected.text

    reviews = [await _review_drafted(ops, base, owner) for _ in range(2)]
    await _move(ops, Review, reviews[0]["id"], reviews[1]["id"])
    publish = f"{base}/reviews/{reviews[1]['id']}/publish"
    as_is = await ops.client.post(publish, json={}, headers=owner)
    assert (as_is.status_code, as_is.json()["code"]) == (409, "text_unreadable")
    typed = await ops.client.post(publish, json={"text": "Thanks, Quinn!"}, headers=owner)
    assert typed.status_code == 200, typed.text
    assert (typed.json()["reply_status"], typed.json()["reply_text"]) == ("published", "Thanks, Quinn!")


FORM = {"name": "Sam", "email": "sam@example.com", "message": "A party for 40 in June?"}


async def test_the_public_form_opens_only_the_same_persons_leads_and_an_unreadable_one_is_no_repeat(
    make_ops: Any, backend: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ops: Ops = await make_ops(**backend, ops_public_lead_rate_limit="30/minute")
    sid, owner = await ops.station("form-check")
    url = "/api/v1/ops/public/form-check/leads"
    for email in ("sam@example.com", "kim@example.com", "lee@example.com", "ana@example.com"):
        assert (await ops.client.post(url, json={**FORM, "email": email})).status_code == 202
    leads = (await ops.client.get(f"/api/v1/ops/stations/{sid}/leads?sort=created_at", headers=owner)).json()
    sam, kim = leads["items"][0]["id"], leads["items"][1]["id"]

    opened: list[str] = []
    decrypt = PIICipher.decrypt

    def counted(self: PIICipher, token: str | None, context: str) -> str | None:
        opened.append(context.rsplit(":", 1)[-1])
        return decrypt(self, token, context)

    monkeypatch.setattr(PIICipher, "decrypt", counted)
    other = await ops.client.post(url, json={**FORM, "email": "SAM@example.com", "message": "And in July?"})
    assert other.status_code == 202
    assert opened.count("lead_email") == 1  # Sam's one lead, not the station's other three
    again = await ops.client.post(url, json={**FORM, "email": "Sam@Example.com"})
    assert again.status_code == 202
    assert (await ops.client.get(f"/api/v1/ops/stations/{sid}/leads", headers=owner)).json()["total"] == 5
    await _move(ops, Lead, kim, sam)
    opened.clear()
    damaged = await ops.client.post(url, json=FORM)
    assert damaged.status_code == 202, damaged.text  # not a 409 for a visitor
    assert opened.count("lead_email") == 2  # Sam's two
    after = (await ops.client.get(f"/api/v1/ops/stations/{sid}/leads", headers=owner)).json()
    assert after["total"] == 6  # not a repeat: stored

    # A lead from before 0027 (no hash) within the hour is still a repeat.
    async with ops.api.runtime.db.session() as session:
        await session.execute(update(Lead).values(email_hash=None))
    assert (await ops.client.post(url, json={**FORM, "email": "kim@example.com"})).status_code == 202
    assert (await ops.client.get(f"/api/v1/ops/stations/{sid}/leads", headers=owner)).json()["total"] == 6


def test_0026s_downgrade_says_sealed_text_exists_and_a_migration_has_no_key(sqlite_url: str) -> None:
    path = sqlite_url.split("///", 1)[1]
    with sqlite3.connect(path) as db:  # an old-style row would do: foreign keys are off here
        db.execute(
            "INSERT INTO leads (id, station_id, message, message_enc, source, status, created_at, updated_at)"
            " VALUES (?, ?, '', 'v1:sealed', 'form', 'new', '2026-11-30', '2026-11-30')",
            (uuid.uuid4().hex, uuid.uuid4().hex),
        )
    with pytest.raises(RuntimeError) as refused:
        downgrade(sqlite_url, "0025_ops_name_tokens")
    assert "no key to open it" in str(refused.value)
    assert "seal_pending_texts" not in str(refused.value)
