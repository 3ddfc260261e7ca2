"""AI under control: escalation levels on a fixed set of messages, drafts to approve, edit or reject,
the per-station rate limit and monthly budget, and one append-only audit row for every AI call."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from conjure.apps.ops import escalation, offline
from conjure.apps.ops.ai import month_of
from conjure.apps.ops.inbox import triage
from conjure.apps.ops.models import AIUsage, AuditEntry, InboxMessage, Station
from conjure.db import utcnow
from conjure.events.types import EventId
from tests.apps.ops.conftest import Ops

# (message, intent, level when the station opted in to auto-replies, level when it did not)
FIXED = [
    ("Hi!", "greeting", 1, 2),
    ("How much does a hibachi party cost?", "pricing", 1, 2),
    ("Do you have availability on June 5?", "availability", 1, 2),
    ("I want to book a party for 30 people on Saturday", "booking_request", 2, 2),
    ("Is there a vegetarian menu and what are your prices?", "pricing", 2, 2),  # two intents: less sure
    ("The chef was late and rude, I am very disappointed", "complaint", 3, 3),
    ("I want my money back", "refund", 3, 3),
    ("My son has a severe peanut allergy, can you cook without it?", "allergy", 3, 3),
    ("Three of us got sick after the party", "health", 3, 3),
    ("My attorney will be in touch", "legal", 3, 3),
    ("Please cancel my event", "cancellation", 3, 3),
    ("qwerty zxcv", "other", 3, 3),
]


@pytest.mark.parametrize(("message", "intent", "opted_in", "opted_out"), FIXED)
def test_escalation_levels_on_a_fixed_set(message: str, intent: str, opted_in: int, opted_out: int) -> None:
    classification = offline.classify(message)
    assert classification.intent == intent
    station = Station(ai_auto_reply=True, ai_level1_confidence=0.85, ai_level2_confidence=0.6)
    assert escalation.level_for(station, classification) == opted_in
    station.ai_auto_reply = False
    assert escalation.level_for(station, classification) == opted_out


def test_low_confidence_goes_to_a_person_whatever_the_intent() -> None:
    station = Station(ai_auto_reply=True, ai_level1_confidence=0.85, ai_level2_confidence=0.6)
    sure = offline.Classification(intent="pricing", sentiment="neutral", sensitivity="low", confidence=0.9)
    assert escalation.level_for(station, sure) == 1
    assert escalation.level_for(station, sure.model_copy(update={"confidence": 0.7})) == 2
    assert escalation.level_for(station, sure.model_copy(update={"confidence": 0.5})) == 3
    assert escalation.level_for(station, sure.model_copy(update={"sentiment": "negative"})) == 3


async def _station_with_sms(ops: Ops, slug: str, **settings: Any) -> tuple[str, dict[str, str], str]:
    sid, owner = await ops.station(slug, **settings)
    address = f"+1555{uuid.uuid4().int % 10**7:07d}"
    added = await ops.client.post(
        f"/api/v1/ops/stations/{sid}/channels", json={"channel": "sms", "address": address}, headers=owner
    )
    assert added.status_code == 201
    return sid, owner, address


async def _triage(ops: Ops, text_: str, to: str, sender: str = "+14155550123") -> tuple[uuid.UUID, int]:
    message = await ops.inbound(text_, to=to, sender=sender)
    assert message is not None
    rt = ops.api.runtime
    return message.thread_id, await triage(rt.db, rt.settings, rt.limiter, message.id, rt.user_events)


async def _audit(ops: Ops, sid: str) -> list[AuditEntry]:
    async with ops.api.runtime.db.session() as session:
        stmt = (
            select(AuditEntry).where(AuditEntry.station_id == uuid.UUID(sid)).order_by(AuditEntry.created_at)
        )
        return list(await session.scalars(stmt))


async def test_levels_one_two_three_end_to_end_with_audit(ops: Ops) -> None:
    sid, owner, address = await _station_with_sms(ops, "escalate", ai_auto_reply=True)
    staff, staff_headers = await ops.member(sid, owner, "staff")
    base = f"/api/v1/ops/stations/{sid}"

    thread, level = await _triage(ops, "Hi!", address)
    assert level == 1  # answered by itself
    detail = (await ops.client.get(f"{base}/inbox/{thread}", headers=owner)).json()
    assert [(m["direction"], m["level"]) for m in detail["messages"]] == [("in", 1), ("out", None)]
    assert "Escalate" in detail["messages"][1]["text"]

    _, level = await _triage(ops, "I want to book a party for 30 people on Saturday", address, "+14155550999")
    assert level == 2
    pending = (await ops.client.get(f"{base}/drafts", headers=staff_headers)).json()["items"]
    assert [d["level"] for d in pending] == [2]
    approved = await ops.client.post(
        f"{base}/drafts/{pending[0]['id']}/approve",
        json={"text": "Yes! Saturday works."},
        headers=staff_headers,
    )
    assert (approved.json()["status"], approved.json()["edited"]) == ("approved", True)
    again = await ops.client.post(f"{base}/drafts/{pending[0]['id']}/reject", headers=staff_headers)
    assert (again.status_code, again.json()["code"]) == (409, "draft_decided")
    sent = (await ops.client.get(f"{base}/inbox/{pending[0]['thread_id']}", headers=owner)).json()["messages"]
    assert sent[-1]["direction"] == "out"
    assert sent[-1]["text"] == "Yes! Saturday works."

    _, level = await _triage(ops, "Three of us got sick after the party", address, "+14155550777")
    assert level == 3
    assert (await ops.client.get(f"{base}/drafts", headers=owner)).json()["total"] == 0

    _, level = await _triage(ops, "How much does a hibachi party cost?", address, "+14155550666")
    waiting = (await ops.client.get(f"{base}/drafts", headers=owner)).json()["items"]
    assert level == 1
    assert waiting == []  # Level 1 again: nothing waits

    audit = await _audit(ops, sid)
    calls = [a for a in audit if a.model is not None]
    # Every AI call: one classify per message, one draft per Level 1 or 2 message.
    assert sorted(a.action for a in calls) == ["classify"] * 4 + ["draft_reply"] * 3
    assert all(a.input_ref.startswith("inbox_message:") for a in calls)
    assert all(a.model == "offline-rules-v1" and a.input_tokens > 0 for a in calls)
    assert all("sick" not in str(a.output) for a in audit)  # the customer's words are not copied there
    decisions = [(a.action, a.actor) for a in audit if a.model is None]
    assert ("draft.edited", str(staff.id)) in decisions
    assert decisions.count(("draft.auto_sent", "system")) == 2

    listed = (await ops.client.get(f"{base}/audit?action=draft.edited", headers=owner)).json()
    assert [row["refers_to"] for row in listed["items"]] == [str(pending_audit(audit))]
    exported = await ops.client.get(f"{base}/audit/export", headers=owner)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == len(audit)
    assert exported.headers["content-type"].startswith("text/csv")
    assert (await ops.client.get(f"{base}/audit", headers=staff_headers)).status_code == 403


def pending_audit(audit: list[AuditEntry]) -> uuid.UUID:
    """The draft_reply call that the edited draft came from."""
    edited = next(a for a in audit if a.action == "draft.edited")
    assert edited.refers_to is not None
    return edited.refers_to


async def test_an_auto_reply_with_nowhere_to_go_waits_for_a_member(ops: Ops) -> None:
    sid, owner = await ops.station("no-sms", ai_auto_reply=True)
    body = {"channel": "google", "address": "locations/9"}
    assert (
        await ops.client.post(f"/api/v1/ops/stations/{sid}/channels", json=body, headers=owner)
    ).status_code == 201
    message = await ops.inbound("Hi!", to="locations/9", sender="google-user-1", channel="google")
    assert message is not None
    rt = ops.api.runtime
    assert await triage(rt.db, rt.settings, rt.limiter, message.id) == 2
    drafts = (await ops.client.get(f"/api/v1/ops/stations/{sid}/drafts", headers=owner)).json()["items"]
    assert [(d["level"], d["status"]) for d in drafts] == [(2, "pending")]


async def test_the_audit_table_is_append_only(make_ops: Any, backend: dict[str, str]) -> None:
    ops: Ops = await make_ops(**backend)
    sid, _, address = await _station_with_sms(ops, "append-only")
    await _triage(ops, "Hi!", address)
    async with ops.api.runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 2
    for statement in ("UPDATE ops_ai_audit SET cost_usd = 0", "DELETE FROM ops_ai_audit"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with ops.api.runtime.db.session() as session:
                await session.execute(text(statement))
    assert len(await _audit(ops, sid)) == 2


async def test_budget_exhaustion_switches_ai_off_mid_month(make_ops: Any, backend: dict[str, str]) -> None:
    # A price that makes one message's two calls cost more than the whole budget.
    ops: Ops = await make_ops(ops_ai_prices={"offline-rules-v1": (1000.0, 1000.0)}, **backend)
    sid, owner, address = await _station_with_sms(ops, "budget", ai_monthly_budget_usd=0.2)
    _, _, other_address = await _station_with_sms(ops, "other-budget", ai_monthly_budget_usd=0.2)
    base = f"/api/v1/ops/stations/{sid}"
    assert (await _triage(ops, "How much does a party cost?", address))[1] == 2
    usage = (await ops.client.get(f"{base}/ai/usage", headers=owner)).json()
    assert usage["over_budget"] is True
    assert usage["requests"] == 2
    assert usage["cost_usd"] > 0.2

    for sender in ("+14155550001", "+14155550002"):
        assert (await _triage(ops, "How much does a party cost?", address, sender))[1] == 3
    alerts = (await ops.client.get(f"{base}/alerts", headers=owner)).json()["items"]
    assert [a["kind"] for a in alerts] == ["ai_budget_exhausted"]  # owners alerted once
    owner_id = uuid.UUID(str((await ops.client.get("/api/v1/me", headers=owner)).json()["id"]))
    streamed = await ops.api.runtime.user_events.replay(owner_id, EventId(0, 0))
    assert [(e.type, e.payload()["kind"]) for e in streamed] == [("ops.alert", "ai_budget_exhausted")]
    assert len([a for a in await _audit(ops, sid) if a.model]) == 2  # no model call once over budget
    # Another station's budget is its own.
    assert (await _triage(ops, "How much does a party cost?", other_address))[1] == 2

    # A new month starts from zero: last month's spend (moved back a month here) no longer counts.
    async with ops.api.runtime.db.session() as session:
        row = await session.get(AIUsage, (uuid.UUID(sid), month_of(utcnow())))
        assert row is not None
        row.month = "2000-01"
    assert (await _triage(ops, "How much does a party cost?", address, "+14155550003"))[1] == 2

    raised = await ops.client.patch(base, json={"ai_monthly_budget_usd": 100}, headers=owner)
    assert raised.status_code == 200
    assert (await _triage(ops, "How much does a party cost?", address, "+14155550004"))[1] == 2


async def test_fifty_ai_requests_a_minute_per_station(make_ops: Any, sqlite_url: str) -> None:
    ops: Ops = await make_ops(ops_ai_rate_limit="3/minute", database_url=sqlite_url)
    _, _, address = await _station_with_sms(ops, "rated")
    _, _, other_address = await _station_with_sms(ops, "rated-other")
    assert (await _triage(ops, "How much is it?", address))[1] == 2  # two calls
    assert (await _triage(ops, "How much is it?", address, "+14155550001"))[1] == 3  # the draft is refused
    assert (await _triage(ops, "How much is it?", address, "+14155550002"))[1] == 3
    assert (await _triage(ops, "How much is it?", other_address))[1] == 2


async def test_the_triage_job_runs_on_the_worker(make_ops: Any, backend: dict[str, str]) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner, address = await _station_with_sms(ops, "worker")
    message = await ops.inbound("I want to book a party for 30 people on Saturday", to=address)
    assert message is not None
    duplicate = await ops.inbound("again", to=address, provider_message_id="dup-1")
    assert duplicate is not None
    assert await ops.inbound("again", to=address, provider_message_id="dup-1") is None  # stored once
    await ops.api.start_worker()
    for _ in range(400):
        async with ops.api.runtime.db.session() as session:
            done = await session.scalar(
                select(func.count()).where(InboxMessage.triage == "done", InboxMessage.direction == "in")
            )
        if done == 2:
            break
        await asyncio.sleep(0.05)
    drafts = (await ops.client.get(f"/api/v1/ops/stations/{sid}/drafts", headers=owner)).json()
    assert drafts["total"] == 1
