"""Stations and members: the admin makes a station and its owner; owners manage members; health."""

from __future__ import annotations

from tests.apps.ops.conftest import Ops


async def test_admin_creates_a_station_and_its_owner_manages_members(ops: Ops) -> None:
    sid, owner = await ops.station("bay-area")
    mine = (await ops.client.get("/api/v1/ops/stations", headers=owner)).json()
    assert [(s["slug"], s["role"]) for s in mine["items"]] == [("bay-area", "owner")]
    staff, staff_headers = await ops.member(sid, owner, "staff")
    members = (await ops.client.get(f"/api/v1/ops/stations/{sid}/members", headers=owner)).json()["items"]
    assert sorted(m["role"] for m in members) == ["owner", "staff"]
    assert {"email": staff.email, "role": "staff"}.items() <= next(
        m for m in members if m["role"] == "staff"
    ).items()
    # Staff cannot add members; the only owner cannot step down.
    refused = await ops.client.post(
        f"/api/v1/ops/stations/{sid}/members",
        json={"email": "x@example.com", "role": "owner"},
        headers=staff_headers,
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    owner_member = next(m for m in members if m["role"] == "owner")
    demote = await ops.client.patch(
        f"/api/v1/ops/stations/{sid}/members/{owner_member['id']}", json={"role": "staff"}, headers=owner
    )
    assert (demote.status_code, demote.json()["code"]) == (409, "last_owner")
    staff_member = next(m for m in members if m["role"] == "staff")
    promoted = await ops.client.patch(
        f"/api/v1/ops/stations/{sid}/members/{staff_member['id']}", json={"role": "manager"}, headers=owner
    )
    assert promoted.json()["role"] == "manager"
    gone = await ops.client.delete(f"/api/v1/ops/stations/{sid}/members/{staff_member['id']}", headers=owner)
    assert gone.status_code == 204
    assert (await ops.client.get(f"/api/v1/ops/stations/{sid}", headers=staff_headers)).status_code == 404


async def test_only_a_platform_admin_creates_stations_and_slugs_are_unique(ops: Ops) -> None:
    _, owner = await ops.station("north")
    body = {"name": "South", "slug": "south", "owner_email": "owner-north@example.com"}
    assert (await ops.client.post("/api/v1/ops/stations", json=body, headers=owner)).status_code == 403
    again = await ops.client.post(
        "/api/v1/ops/stations", json={**body, "slug": "north"}, headers=ops.admin_headers
    )
    assert (again.status_code, again.json()["code"]) == (409, "slug_taken")
    nobody = await ops.client.post(
        "/api/v1/ops/stations", json={**body, "owner_email": "ghost@example.com"}, headers=ops.admin_headers
    )
    assert (nobody.status_code, nobody.json()["code"]) == (422, "unknown_user")


async def test_the_seed_health_contract(ops: Ops) -> None:
    response = await ops.client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"]) == ("healthy", "connected")
    assert body["version"]


async def test_a_deleted_account_leaves_its_stations_and_its_export_lists_them(ops: Ops) -> None:
    import datetime as dt

    from conjure.auth.tokens import issue_access_token

    sid, owner = await ops.station("east")
    staff, _ = await ops.member(sid, owner, "staff")
    fresh = {
        "Authorization": "Bearer "
        + issue_access_token(ops.api.runtime.settings, staff.id, auth_time=dt.datetime.now(dt.UTC))
    }
    export = (await ops.client.get("/api/v1/me/export", headers=fresh)).json()
    assert export["apps"]["ops"]["stations"] == [{"name": "East", "slug": "east", "role": "staff"}]
    deleted = await ops.client.request("DELETE", "/api/v1/me", headers=fresh, json={})
    assert deleted.status_code == 204, deleted.text
    members = (await ops.client.get(f"/api/v1/ops/stations/{sid}/members", headers=owner)).json()["items"]
    assert [m["role"] for m in members] == ["owner"]


async def test_an_owner_cannot_save_a_refund_policy_or_thresholds_that_contradict_themselves(
    ops: Ops,
) -> None:
    sid, owner = await ops.station("policy")
    url = f"/api/v1/ops/stations/{sid}"
    # A full refund needs more notice than a half one; a half tier further out than the full never applies.
    inverted = await ops.client.patch(
        url, json={"refund_full_days": 1, "refund_half_days": 30}, headers=owner
    )
    assert (inverted.status_code, inverted.json()["code"]) == (422, "invalid_station_settings")
    # Checked against what is saved too: only lowering the full-refund notice below the half one (2 days).
    lowered = await ops.client.patch(url, json={"refund_full_days": 1}, headers=owner)
    assert (lowered.status_code, lowered.json()["code"]) == (422, "invalid_station_settings")
    # Auto-sending (level 1) needs at least the confidence a draft (level 2) does.
    thresholds = await ops.client.patch(
        url, json={"ai_level1_confidence": 0.2, "ai_level2_confidence": 0.9}, headers=owner
    )
    assert (thresholds.status_code, thresholds.json()["code"]) == (422, "invalid_station_settings")
    saved = (await ops.client.get(url, headers=owner)).json()
    assert (saved["refund_full_days"], saved["refund_half_days"]) == (7, 2)
    assert (saved["ai_level1_confidence"], saved["ai_level2_confidence"]) == (0.85, 0.6)
    fine = await ops.client.patch(url, json={"refund_full_days": 14, "refund_half_days": 14}, headers=owner)
    assert fine.status_code == 200, fine.text
    assert (fine.json()["refund_full_days"], fine.json()["refund_half_days"]) == (14, 14)
