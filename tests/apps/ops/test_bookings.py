"""Bookings: capacity per slot under concurrent requests, recorded transitions, the deposit's webhook
confirming exactly once, and refunds on cancellation by the station's policy."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from tests.apps.ops.conftest import Ops


@pytest.fixture
async def bops(make_ops: Any, backend: dict[str, str]) -> Ops:
    built: Ops = await make_ops(**backend)
    return built


async def test_concurrent_requests_never_overbook_a_slot(bops: Ops) -> None:
    sid, owner = await bops.station("capacity", capacity_per_slot=2)
    customer = await bops.customer(sid, owner)
    answers = await asyncio.gather(*(bops.booking(sid, owner, customer["id"]) for _ in range(8)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201, 201] + [409] * 6
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"slot_full"}
    # Another time that day is another slot; cancelling frees a place in this one.
    assert (await bops.booking(sid, owner, customer["id"], event_time="12:00")).status_code == 201
    booked = next(r.json() for r in answers if r.status_code == 201)
    cancel = await bops.client.post(
        f"/api/v1/ops/stations/{sid}/bookings/{booked['id']}/status",
        json={"status": "cancelled"},
        headers=owner,
    )
    assert cancel.json()["status"] == "cancelled"
    assert (await bops.booking(sid, owner, customer["id"])).status_code == 201
    assert (await bops.booking(sid, owner, customer["id"])).status_code == 409


async def test_each_transition_is_recorded_with_who_and_when(ops: Ops) -> None:
    sid, owner = await ops.station("transitions")
    staff, staff_headers = await ops.member(sid, owner, "staff")
    customer = await ops.customer(sid, owner)
    booking = (await ops.booking(sid, staff_headers, customer["id"])).json()
    base = f"/api/v1/ops/stations/{sid}/bookings/{booking['id']}"
    for status in ("confirmed", "completed"):
        response = await ops.client.post(
            f"{base}/status", json={"status": status, "note": status}, headers=staff_headers
        )
        assert response.status_code == 200, response.text
    wrong = await ops.client.post(f"{base}/status", json={"status": "cancelled"}, headers=staff_headers)
    assert (wrong.status_code, wrong.json()["code"]) == (409, "invalid_transition")
    events = (await ops.client.get(f"{base}/events", headers=owner)).json()["items"]
    assert [(e["from_status"], e["to_status"], e["actor_user_id"]) for e in events] == [
        (None, "pending", str(staff.id)),
        ("pending", "confirmed", str(staff.id)),
        ("confirmed", "completed", str(staff.id)),
    ]
    times = [dt.datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times)


async def test_the_deposit_webhook_confirms_the_booking_exactly_once(bops: Ops) -> None:
    sid, owner = await bops.station("deposits")
    customer = await bops.customer(sid, owner)
    booking = (await bops.booking(sid, owner, customer["id"])).json()
    base = f"/api/v1/ops/stations/{sid}/bookings/{booking['id']}"
    deposit = await bops.client.post(f"{base}/deposit", headers=owner)
    assert deposit.status_code == 200, deposit.text
    body = deposit.json()
    assert (body["amount"], body["status"]) == (10_000, "pending")
    assert body["client_secret"].startswith(body["payment_intent_id"])
    again = (await bops.client.post(f"{base}/deposit", headers=owner)).json()
    assert again["payment_intent_id"] == body["payment_intent_id"]  # one intent per booking
    assert bops.stripe is not None
    intent = bops.stripe.set_status(body["payment_intent_id"], "succeeded")
    assert intent["metadata"]["purpose"] == "ops_deposit"

    first = await bops.deliver_stripe("payment_intent.succeeded", intent, event_id="evt_dep_1")
    duplicate = await bops.deliver_stripe("payment_intent.succeeded", intent, event_id="evt_dep_1")
    second_event = await bops.deliver_stripe("payment_intent.succeeded", intent, event_id="evt_dep_2")
    assert [r.json()["status"] for r in (first, duplicate, second_event)] == [
        "processed",
        "duplicate",
        "ignored",
    ]
    # Retries and more events for the same intent, all at once: nothing more happens.
    answers = await asyncio.gather(
        *(
            bops.deliver_stripe("payment_intent.succeeded", intent, event_id=f"evt_dep_{n % 3}")
            for n in range(6)
        )
    )
    assert sorted(r.json()["status"] for r in answers) == ["duplicate"] * 5 + ["ignored"]  # evt_dep_0 is new
    view = (await bops.client.get(base, headers=owner)).json()
    assert (view["status"], view["deposit_status"]) == ("confirmed", "succeeded")
    events = (await bops.client.get(f"{base}/events", headers=owner)).json()["items"]
    assert [(e["to_status"], e["actor"]) for e in events] == [("pending", "member"), ("confirmed", "stripe")]
    paid = await bops.client.post(f"{base}/deposit", headers=owner)
    assert (paid.status_code, paid.json()["code"]) == (409, "deposit_not_allowed")

    # Another booking whose first deliveries race each other: one confirms, the rest change nothing.
    other = (await bops.booking(sid, owner, customer["id"], event_time="11:00")).json()
    other_base = f"/api/v1/ops/stations/{sid}/bookings/{other['id']}"
    other_intent = (await bops.client.post(f"{other_base}/deposit", headers=owner)).json()[
        "payment_intent_id"
    ]
    succeeded = bops.stripe.set_status(other_intent, "succeeded")
    raced = await asyncio.gather(
        *(
            bops.deliver_stripe("payment_intent.succeeded", succeeded, event_id=f"evt_race_{n % 2}")
            for n in range(4)
        )
    )
    assert sorted(r.json()["status"] for r in raced) == ["duplicate", "duplicate", "ignored", "processed"]
    other_events = (await bops.client.get(f"{other_base}/events", headers=owner)).json()["items"]
    assert [e["to_status"] for e in other_events] == ["pending", "confirmed"]


@pytest.mark.parametrize(("days_ahead", "refunded"), [(30, 10_000), (3, 5_000), (1, 0)])
async def test_cancelling_refunds_the_deposit_by_policy(ops: Ops, days_ahead: int, refunded: int) -> None:
    sid, owner = await ops.station("refunds", refund_full_days=7, refund_half_days=2)
    customer = await ops.customer(sid, owner)
    day = (dt.date.today() + dt.timedelta(days=days_ahead)).isoformat()
    booking = (await ops.booking(sid, owner, customer["id"], event_date=day)).json()
    base = f"/api/v1/ops/stations/{sid}/bookings/{booking['id']}"
    intent_id = (await ops.client.post(f"{base}/deposit", headers=owner)).json()["payment_intent_id"]
    assert ops.stripe is not None
    await ops.deliver_stripe("payment_intent.succeeded", ops.stripe.set_status(intent_id, "succeeded"))
    cancelled = (await ops.client.post(f"{base}/status", json={"status": "cancelled"}, headers=owner)).json()
    assert cancelled["status"] == "cancelled"
    sent = [r["form"] for r in ops.stripe.requests if r["path"] == "/v1/refunds"]
    if refunded:
        assert cancelled["refund"] == {"amount": refunded, "status": "succeeded"}
        assert sent == [{"payment_intent": intent_id, "amount": str(refunded)}]
    else:
        assert cancelled["refund"] is None
        assert sent == []
