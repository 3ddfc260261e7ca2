"""GET /api/v1/admin/invites/flagged: admins see flagged inviters in a Page; others get 403."""

from __future__ import annotations

import httpx

from conjure.runtime import Runtime
from conjure.users.models import User
from conjure.wallet import service
from tests.factories import auth_headers, make_user


async def _invited_by(runtime: Runtime, inviter: User) -> None:
    invitee = await make_user(runtime)
    async with runtime.db.session() as session:
        await service.on_signup(session, runtime.settings, invitee, invite_code=inviter.invite_code)


async def test_admins_list_flagged_inviters_and_others_are_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.settings.invite_burst_threshold = 1
    admin, user = await make_user(runtime, admin=True), await make_user(runtime)
    burster, quiet = await make_user(runtime), await make_user(runtime)
    for _ in range(3):
        await _invited_by(runtime, burster)
    await _invited_by(runtime, quiet)

    assert (await client.get("/api/v1/admin/invites/flagged")).status_code == 401
    refused = await client.get("/api/v1/admin/invites/flagged", headers=auth_headers(runtime, user))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")

    resp = await client.get("/api/v1/admin/invites/flagged", headers=auth_headers(runtime, admin))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["total"], body["limit"], body["offset"]) == (1, 20, 0)
    [item] = body["items"]
    assert item["inviter_id"] == str(burster.id)
    assert item["email"] == burster.email
    assert (item["flagged_invites"], item["total_invites"], item["reasons"]) == (2, 3, ["burst"])

    # Paged like every list: past the end is empty, the total still says 1.
    resp = await client.get("/api/v1/admin/invites/flagged?offset=1", headers=auth_headers(runtime, admin))
    assert (resp.json()["items"], resp.json()["total"]) == ([], 1)
    bad = await client.get("/api/v1/admin/invites/flagged?limit=0", headers=auth_headers(runtime, admin))
    assert bad.status_code == 422
