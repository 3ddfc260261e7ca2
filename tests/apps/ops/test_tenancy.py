"""Tenancy and roles on every station route (a matrix over the app's whole route table).

For each route: a member of station A gets 404 for station B's path, and for B's objects under
A's own path; each role of B below the route's gets 403; the route's own role gets through.
A route added without a row here fails the coverage test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute

from conjure.apps.ops.inbox import triage
from conjure.apps.ops.spec import APP
from tests.apps.ops.conftest import Ops

ROLES = ("viewer", "staff", "manager", "owner")
Body = dict[str, Any] | Callable[[dict[str, str]], dict[str, Any]] | None


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # relative to /api/v1/ops/stations/{sid}
    role: str
    body: Body = None


def _today_plus(days: int) -> str:
    import datetime as dt

    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


BOOKING = {
    "event_date": _today_plus(40),
    "event_time": "12:00",
    "guests": 8,
    "address": "2 Main St",
    "package": "basic",
}

# In the order they run: calls that change or remove an object come after the ones that read it.
MATRIX = (
    Row("GET", "", "viewer"),
    Row("PATCH", "", "owner", {"capacity_per_slot": 3}),
    Row("GET", "/members", "viewer"),
    Row("POST", "/members", "owner", {"email": "extra@example.com", "role": "viewer"}),
    Row("PATCH", "/members/{member_id}", "owner", {"role": "staff"}),
    Row("GET", "/channels", "manager"),
    Row("POST", "/channels", "owner", {"channel": "whatsapp", "address": "wa-b"}),
    Row("DELETE", "/channels/{channel}/{address}", "owner"),
    Row("GET", "/customers", "viewer"),
    Row("POST", "/customers", "staff", {"name": "Grace Hopper", "email": "grace@example.com"}),
    Row("GET", "/customers/{customer_id}", "viewer"),
    Row("PATCH", "/customers/{customer_id}", "staff", {"marketing_email": True}),
    Row("GET", "/customers/{customer_id}/export", "manager"),
    Row("GET", "/bookings", "viewer"),
    Row("POST", "/bookings", "staff", lambda ids: {"customer_id": ids["customer_id"], **BOOKING}),
    Row("GET", "/bookings/{booking_id}", "viewer"),
    Row("GET", "/bookings/{booking_id}/events", "viewer"),
    Row("POST", "/bookings/{booking_id}/deposit", "staff"),
    Row("POST", "/bookings/{booking_id}/status", "staff", {"status": "cancelled"}),
    Row("GET", "/leads", "viewer"),
    Row("POST", "/leads", "staff", {"name": "Lin", "email": "lin@example.com", "message": "Party for 20"}),
    Row("GET", "/leads/{lead_id}", "viewer"),
    Row("POST", "/leads/{lead_id}/qualify", "staff"),
    Row("POST", "/leads/{lead_id}/status", "staff", {"status": "contacted"}),
    Row("POST", "/leads/{lead_id}/convert", "staff", {**BOOKING, "event_time": "13:00"}),
    Row("GET", "/reviews", "viewer"),
    Row("POST", "/reviews", "staff", {"rating": 5, "text": "Great chef!"}),
    Row("POST", "/reviews/{review_id}/draft", "staff"),
    Row("POST", "/reviews/{review_id}/publish", "manager", {"text": "Thank you!"}),
    Row("GET", "/inbox", "viewer"),
    Row("GET", "/inbox/{thread_id}", "viewer"),
    Row("POST", "/inbox/{thread_id}/read", "staff"),
    Row("POST", "/inbox/{thread_id}/assign", "manager", {"user_id": None}),
    Row("POST", "/inbox/{thread_id}/reply", "staff", {"text": "Happy to help!"}),
    Row("POST", "/inbox/{thread_id}/lead", "staff"),
    Row("GET", "/drafts", "viewer"),
    Row("POST", "/drafts/{draft_id}/approve", "staff", {}),
    Row("POST", "/drafts/{draft_id}/reject", "staff"),
    Row("GET", "/ai/usage", "manager"),
    Row("GET", "/alerts", "owner"),
    Row("GET", "/audit", "owner"),
    Row("GET", "/audit/export", "owner"),
    Row("POST", "/customers/{customer_id}/erase", "owner"),
    Row("DELETE", "/members/{member_id}", "owner"),
)
PREFIX = "/api/v1/ops/stations/{sid}"


def test_the_matrix_covers_every_station_route() -> None:
    routes = {
        (method, route.path.removeprefix(PREFIX))
        for router in APP.routers
        for route in router.routes
        if isinstance(route, APIRoute) and route.path.startswith(PREFIX)
        for method in route.methods or ()
    }
    assert routes == {(row.method, row.path) for row in MATRIX}


async def _objects(ops: Ops, sid: str, owner: dict[str, str]) -> dict[str, str]:
    """One of everything in a station, so every route has a real object to refuse or serve."""
    base = f"/api/v1/ops/stations/{sid}"
    sms = {"channel": "sms", "address": f"sms-{sid}"}
    assert (await ops.client.post(f"{base}/channels", json=sms, headers=owner)).status_code == 201
    customer = await ops.customer(sid, owner)
    booking = (await ops.booking(sid, owner, customer["id"])).json()
    lead = (
        await ops.client.post(f"{base}/leads", json={"name": "Bo", "message": "Hi"}, headers=owner)
    ).json()
    review = (await ops.client.post(f"{base}/reviews", json={"rating": 4}, headers=owner)).json()
    await ops.member(sid, owner, "viewer")
    members = (await ops.client.get(f"{base}/members", headers=owner)).json()["items"]
    message = await ops.inbound("How much does a party cost?", to=sms["address"])
    assert message is not None
    level = await triage(ops.api.runtime.db, ops.api.runtime.settings, ops.api.runtime.limiter, message.id)
    assert level == 2
    drafts = (await ops.client.get(f"{base}/drafts", headers=owner)).json()["items"]
    return {
        "sid": sid,
        "member_id": members[-1]["id"],
        "channel": "whatsapp",
        "address": "wa-b",
        "customer_id": customer["id"],
        "booking_id": booking["id"],
        "lead_id": lead["id"],
        "review_id": review["id"],
        "thread_id": str(message.thread_id),
        "draft_id": drafts[0]["id"],
    }


async def test_every_route_refuses_other_stations_and_lower_roles(ops: Ops) -> None:
    sid_a, owner_a = await ops.station("station-a")
    sid_b, owner_b = await ops.station("station-b")
    await ops.user("extra@example.com")
    ids_a = await _objects(ops, sid_a, owner_a)
    ids_b = await _objects(ops, sid_b, owner_b)
    headers = {"owner": owner_b}
    for role in ("viewer", "staff", "manager"):
        headers[role] = (await ops.member(sid_b, owner_b, role))[1]

    async def call(row: Row, ids: dict[str, str], who: dict[str, str]) -> int:
        path = (PREFIX + row.path).format(**ids).replace("{sid}", ids["sid"])
        body = row.body(ids) if callable(row.body) else row.body
        response = await ops.client.request(row.method, path, json=body, headers=who)
        return response.status_code

    failures = []
    for row in MATRIX:
        # Station A's owner: B's station in the path, and B's objects under A's own station.
        if (status := await call(row, ids_b, owner_a)) != 404:
            failures.append((row, "other station", status))
        if (
            re.search(r"\{(?!sid)", row.path)
            and (status := await call(row, {**ids_b, "sid": sid_a}, owner_a)) != 404
        ):
            failures.append((row, "other station's object", status))
        for role in ROLES[: ROLES.index(row.role)]:
            if (status := await call(row, ids_b, headers[role])) != 403:
                failures.append((row, role, status))
        status = await call(row, ids_b, headers[row.role])
        if status in (401, 403, 404) or status >= 500:
            failures.append((row, f"{row.role} (allowed)", status))
    assert failures == []
    assert ids_a["sid"] != ids_b["sid"]
