"""Another user's resources answer 404 exactly like ids that do not exist (no existence oracle)."""

from __future__ import annotations

import uuid

import httpx

from conjure.runtime import Runtime
from tests.factories import auth_headers, make_user


async def test_another_users_wallet_job_and_reading_are_404(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await make_user(runtime, stars=3)
    intruder = await make_user(runtime, stars=3)
    accepted = await client.post(
        "/api/v1/tarot/read",
        json={"question": "Will my garden bloom this spring?"},
        headers=auth_headers(runtime, owner),
    )
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    assert (
        await client.get(f"/api/v1/jobs/{job_id}", headers=auth_headers(runtime, owner))
    ).status_code == 200

    for path, missing in [
        (f"/api/v1/user/wallet/{owner.id}", f"/api/v1/user/wallet/{uuid.uuid4()}"),
        (f"/api/v1/jobs/{job_id}", f"/api/v1/jobs/{uuid.uuid4()}"),
        (f"/api/v1/reading/{job_id}", f"/api/v1/reading/{uuid.uuid4()}"),
    ]:
        theirs = await client.get(path, headers=auth_headers(runtime, intruder))
        absent = await client.get(missing, headers=auth_headers(runtime, intruder))
        assert theirs.status_code == absent.status_code == 404, (path, theirs.text)
        assert theirs.json() == absent.json()
    # The intruder's own wallet is fine, and the owner's job was not touched.
    assert (
        await client.get(f"/api/v1/user/wallet/{intruder.id}", headers=auth_headers(runtime, intruder))
    ).is_success
    cancel = await client.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth_headers(runtime, intruder))
    assert cancel.status_code == 404


async def test_admin_routes_answer_403_to_users(client: httpx.AsyncClient, runtime: Runtime) -> None:
    user, admin = await make_user(runtime), await make_user(runtime, admin=True)
    refused = await client.get("/api/v1/admin/jobs/dlq", headers=auth_headers(runtime, user))
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    allowed = await client.get("/api/v1/admin/jobs/dlq", headers=auth_headers(runtime, admin))
    assert allowed.status_code == 200
