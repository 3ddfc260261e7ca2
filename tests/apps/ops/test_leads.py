"""Leads: the public form (honeypot, rate limit), the status flow, AI qualification, conversion."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.apps.ops.conftest import Ops

FORM = {"name": "Sam", "email": "sam@example.com", "phone": "+14155550111",
        "message": "Birthday party for 25 guests on Jun 14"}  # fmt: skip


async def test_the_public_form_with_honeypot_and_rate_limit(make_ops: Any, sqlite_url: str) -> None:
    ops: Ops = await make_ops(database_url=sqlite_url, ops_public_lead_rate_limit="4/minute")
    sid, owner = await ops.station("public")
    url = "/api/v1/ops/public/public/leads"
    accepted = await ops.client.post(url, json=FORM)
    assert (accepted.status_code, accepted.json()) == (202, {"status": "received"})
    trapped = await ops.client.post(url, json={**FORM, "website": "http://spam.example"})
    assert (trapped.status_code, trapped.json()) == (202, {"status": "received"})  # the bot learns nothing
    assert (await ops.client.post("/api/v1/ops/public/nowhere/leads", json=FORM)).status_code == 404
    bad = await ops.client.post(url, json={**FORM, "email": "not-an-email"})
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "email")
    limited = await ops.client.post(url, json=FORM)
    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
    leads = (await ops.client.get(f"/api/v1/ops/stations/{sid}/leads", headers=owner)).json()
    assert [(x["name"], x["source"], x["status"]) for x in leads["items"]] == [("Sam", "form", "new")]


async def test_status_flow_qualification_and_conversion(make_ops: Any, backend: dict[str, str]) -> None:
    ops: Ops = await make_ops(**backend)
    sid, owner = await ops.station("pipeline")
    base = f"/api/v1/ops/stations/{sid}/leads"
    lead = (await ops.client.post(base, json=FORM, headers=owner)).json()
    job = await ops.client.post(f"{base}/{lead['id']}/qualify", headers=owner)
    assert job.status_code == 202
    await ops.api.start_worker()
    for _ in range(400):
        scored = (await ops.client.get(f"{base}/{lead['id']}", headers=owner)).json()
        if scored["score"] is not None:
            break
        await asyncio.sleep(0.05)
    assert scored["score"] == 100
    assert "guest count given" in scored["reasons"]
    assert scored["next_step"].startswith("Call today")

    for status in ("contacted", "qualified"):
        moved = await ops.client.post(f"{base}/{lead['id']}/status", json={"status": status}, headers=owner)
        assert moved.json()["status"] == status
    back = await ops.client.post(f"{base}/{lead['id']}/status", json={"status": "contacted"}, headers=owner)
    assert (back.status_code, back.json()["code"]) == (409, "invalid_transition")

    existing = await ops.customer(sid, owner, name="Sam Smith", email="sam@example.com", phone=None)
    booking_body = {
        "event_date": "2030-06-14",
        "event_time": "17:30",
        "guests": 25,
        "address": "9 Oak",
        "package": "party",
    }
    converted = await ops.client.post(f"{base}/{lead['id']}/convert", json=booking_body, headers=owner)
    assert converted.status_code == 201, converted.text
    assert converted.json()["customer_id"] == existing["id"]  # found by email, not duplicated
    won = (await ops.client.get(f"{base}/{lead['id']}", headers=owner)).json()
    assert (won["status"], won["booking_id"]) == ("won", converted.json()["id"])


async def test_a_form_sent_twice_makes_one_lead(make_ops: Any, backend: dict[str, str]) -> None:
    # A double-click or a resend after a slow answer: the board shows the enquiry once.
    ops: Ops = await make_ops(**backend, ops_public_lead_rate_limit="10/minute")
    sid, owner = await ops.station("twice")
    url = "/api/v1/ops/public/twice/leads"
    sent = await asyncio.gather(*(ops.client.post(url, json=FORM) for _ in range(2)))
    again = await ops.client.post(url, json={**FORM, "email": "SAM@example.com", "name": "Sam S."})
    assert [r.status_code for r in [*sent, again]] == [202, 202, 202]
    other = await ops.client.post(url, json={**FORM, "message": "And a second party in July?"})
    assert other.status_code == 202
    stranger = await ops.client.post(url, json={**FORM, "email": "kim@example.com"})
    assert stranger.status_code == 202
    leads = (await ops.client.get(f"/api/v1/ops/stations/{sid}/leads?sort=created_at", headers=owner)).json()
    assert [(x["email"], x["message"]) for x in leads["items"]] == [
        ("sam@example.com", FORM["message"]),
        ("sam@example.com", "And a second party in July?"),
        ("kim@example.com", FORM["message"]),
    ]


async def test_each_status_of_the_board_pages_through_all_its_leads(
    make_ops: Any, backend: dict[str, str]
) -> None:
    # The board reads each column as a list of its own: ?status with limit/offset pages, newest
    # first, every lead once, and the column's whole count in ``total``.
    ops: Ops = await make_ops(**backend)
    sid, owner = await ops.station("paged-board")
    base = f"/api/v1/ops/stations/{sid}/leads"
    made = []
    for n in range(25):
        lead = await ops.client.post(base, json={"name": f"Caller {n}", "message": "A party?"}, headers=owner)
        made.append(lead.json()["id"])
    for lead_id in made[:3]:
        moved = await ops.client.post(f"{base}/{lead_id}/status", json={"status": "contacted"}, headers=owner)
        assert moved.status_code == 200, moved.text
    pages = [
        (await ops.client.get(f"{base}?status=new&limit=10&offset={offset}", headers=owner)).json()
        for offset in (0, 10, 20)
    ]
    assert [(p["total"], len(p["items"])) for p in pages] == [(22, 10), (22, 10), (22, 2)]
    assert [x["id"] for p in pages for x in p["items"]] == made[3:][::-1]
    contacted = (await ops.client.get(f"{base}?status=contacted&limit=10", headers=owner)).json()
    assert (contacted["total"], [x["id"] for x in contacted["items"]]) == (3, made[:3][::-1])
