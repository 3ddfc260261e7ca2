"""Bookings: capacity per slot under concurrent requests, recorded transitions, the deposit's webhook
confirming exactly once, and refunds on cancellation by the station's policy."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from conjure.apps.ops.bookings import BookingInPast, check_not_started
from conjure.apps.ops.deposits import refund_due
from conjure.apps.ops.models import Booking, DepositPayment, Station
from conjure.apps.ops.settings import OpsSettings
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
    today = dt.datetime.now(OpsSettings().booking_zone).date()  # the stations' calendar (UTC-12 here)
    day = (today + dt.timedelta(days=days_ahead)).isoformat()
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


async def _paid_booking(ops: Ops, sid: str, owner: dict[str, str], day: dt.date) -> tuple[str, str]:
    """A booking on ``day`` whose deposit Stripe says is paid: its URL and payment intent."""
    customer = await ops.customer(sid, owner)
    booking = await ops.booking(sid, owner, customer["id"], event_date=day.isoformat())
    assert booking.status_code == 201, booking.text
    base = f"/api/v1/ops/stations/{sid}/bookings/{booking.json()['id']}"
    intent_id = (await ops.client.post(f"{base}/deposit", headers=owner)).json()["payment_intent_id"]
    assert ops.stripe is not None
    await ops.deliver_stripe("payment_intent.succeeded", ops.stripe.set_status(intent_id, "succeeded"))
    return base, intent_id


async def test_days_notice_for_a_refund_are_counted_on_the_stations_calendar(
    make_ops: Any, backend: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cancelled at 23:30 on 7 June in Los Angeles, when UTC is already at 06:30 on the 8th: the
    # event on the 14th is 7 days ahead on the station's calendar (a full refund) but 6 on UTC's
    # (half of it). The clock is the route's, set to that moment for the cancellation only.
    ops: Ops = await make_ops(**backend, ops_timezone="America/Los_Angeles")
    sid, owner = await ops.station("calendar", refund_full_days=7, refund_half_days=2)
    base, intent_id = await _paid_booking(ops, sid, owner, dt.date(2030, 6, 14))
    late_evening = dt.datetime(2030, 6, 7, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert late_evening.astimezone(dt.UTC).date() == dt.date(2030, 6, 8)
    monkeypatch.setattr("conjure.apps.ops.router.utcnow", lambda: late_evening.astimezone(dt.UTC))
    cancel = await ops.client.post(f"{base}/status", json={"status": "cancelled"}, headers=owner)
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["refund"] == {"amount": 10_000, "status": "succeeded"}
    assert ops.stripe is not None
    sent = [r["form"] for r in ops.stripe.requests if r["path"] == "/v1/refunds"]
    assert sent == [{"payment_intent": intent_id, "amount": "10000"}]


@pytest.mark.parametrize(
    ("zone", "cancelled_at", "refunded"),
    [
        # 23:30 on 7 June in Los Angeles (06:30 on the 8th in UTC): 7 days' notice, all of it.
        ("America/Los_Angeles", dt.datetime(2030, 6, 8, 6, 30, tzinfo=dt.UTC), 10_000),
        # 00:30 on 8 June in Bangkok (17:30 on the 7th in UTC): 6 days' notice, half.
        ("Asia/Bangkok", dt.datetime(2030, 6, 7, 17, 30, tzinfo=dt.UTC), 5_000),
        # OPS_TIMEZONE unset: UTC-12, where 11:30 UTC on the 8th is still the 7th: all of it.
        (None, dt.datetime(2030, 6, 8, 11, 30, tzinfo=dt.UTC), 10_000),
        # ...and at 12:30 UTC the 8th has come there too: half.
        (None, dt.datetime(2030, 6, 8, 12, 30, tzinfo=dt.UTC), 5_000),
    ],
)
def test_the_refund_policy_reads_today_on_the_stations_wall_clock(
    zone: str | None, cancelled_at: dt.datetime, refunded: int
) -> None:
    station = Station(refund_full_days=7, refund_half_days=2)
    booking = Booking(booking_date=dt.date(2030, 6, 14))
    deposit = DepositPayment(status="succeeded", amount=10_000, amount_refunded=0)
    wall = OpsSettings(ops_timezone=zone).booking_zone
    assert refund_due(station, booking, deposit, cancelled_at, wall) == refunded


def _wall(moment: dt.datetime) -> dict[str, str]:
    return {"event_date": moment.date().isoformat(), "event_time": moment.strftime("%H:%M")}


async def test_a_booking_whose_start_has_passed_is_refused(make_ops: Any, backend: dict[str, str]) -> None:
    # The stations' wall clock is Bangkok's: an hour ago there is still ahead on a UTC clock, so
    # reading the date and time in the wrong zone would let it through.
    ops: Ops = await make_ops(**backend, ops_timezone="Asia/Bangkok")
    sid, owner = await ops.station("past", capacity_per_slot=1)
    customer = await ops.customer(sid, owner)
    now = dt.datetime.now(ZoneInfo("Asia/Bangkok"))
    for moment in (now - dt.timedelta(hours=1), now - dt.timedelta(minutes=10), now - dt.timedelta(days=1)):
        refused = await ops.booking(sid, owner, customer["id"], **_wall(moment))
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "booking_in_past"
        assert "already passed" in refused.json()["detail"]
    listed = await ops.client.get(f"/api/v1/ops/stations/{sid}/bookings", headers=owner)
    assert listed.json()["total"] == 0
    # Within the grace (a form filled in a minute ago, a clock a little behind) it is still taken.
    just_started = await ops.booking(sid, owner, customer["id"], **_wall(now - dt.timedelta(minutes=1)))
    assert just_started.status_code == 201, just_started.text
    later = await ops.booking(sid, owner, customer["id"], **_wall(now + dt.timedelta(hours=2)))
    assert later.status_code == 201, later.text

    # Converting a lead books through the same rule; the refused lead is not won.
    lead = await ops.client.post(
        f"/api/v1/ops/stations/{sid}/leads", json={"name": "Kim", "message": "Tonight?"}, headers=owner
    )
    body = {**_wall(now - dt.timedelta(hours=3)), "guests": 8, "address": "9 Oak", "package": "party"}
    url = f"/api/v1/ops/stations/{sid}/leads/{lead.json()['id']}"
    converted = await ops.client.post(f"{url}/convert", json=body, headers=owner)
    assert (converted.status_code, converted.json()["code"]) == (422, "booking_in_past")
    assert (await ops.client.get(url, headers=owner)).json()["status"] == "new"


def test_without_a_time_zone_only_a_start_passed_everywhere_is_refused() -> None:
    # OPS_TIMEZONE unset: the date and time are read on the last clock on Earth (UTC-12), so a
    # booking still ahead somewhere is never refused, and a day already over everywhere is.
    zone = OpsSettings().booking_zone
    now = dt.datetime(2030, 6, 14, 12, 0, tzinfo=dt.UTC)  # 00:00 on the 14th at UTC-12
    check_not_started(dt.date(2030, 6, 14), "00:00", zone, now)
    check_not_started(dt.date(2030, 6, 13), "23:56", zone, now)  # four minutes ago: the grace
    for day, time in ((dt.date(2030, 6, 13), "23:50"), (dt.date(2030, 6, 12), "18:00")):
        with pytest.raises(BookingInPast):
            check_not_started(day, time, zone, now)
    with pytest.raises(ValidationError, match="not a time zone"):
        OpsSettings(ops_timezone="Mars/Olympus_Mons")
