"""The kit's submit options on the staging routes: Cancel-After ends an image no worker started (its
star released, job.canceled on the owner's stream), a completion webhook is stored and delivered
signed, bad headers are 422, and OpenAPI documents the options, the problems and the paging."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

from conjure.apps.staging.models import Upload
from conjure.db import utcnow
from conjure.errors import PROBLEM_JSON
from conjure.events.types import START
from conjure.jobs.webhooks import SIGNATURE_HEADER
from conjure.storage.base import upload_key
from conjure.users.models import User
from tests.apps.conftest import Api, MakeApi
from tests.apps.staging.conftest import room_photo
from tests.receivers import Receiver

IMAGES = "/api/v1/images"


async def _image_body(api: Api, user: User, headers: dict[str, str]) -> dict[str, Any]:
    """A project and an uploaded photo (put in storage directly: the upload itself is tested elsewhere)."""
    project = await api.client.post("/api/v1/projects", json={"name": "Kit"}, headers=headers)
    assert project.status_code == 201, project.text
    key = upload_key(user.id, "jpg")
    await api.runtime.storage.put(key, room_photo(), content_type="image/jpeg")
    async with api.runtime.db.session() as session:
        session.add(Upload(key=key, user_id=user.id))  # what the presign records
    return {"project_id": project.json()["id"], "upload_key": key, "room_type": "office", "style": "modern"}


def _ended(body: dict[str, Any]) -> bool:
    return body["status"] in ("ready", "failed")


async def test_cancel_after_ends_an_image_no_worker_started(
    make_api: MakeApi, backend: dict[str, str]
) -> None:
    api = await make_api(**backend)
    user, headers = await api.user(stars=1)
    body = await _image_body(api, user, headers)
    response = await api.client.post(IMAGES, json=body, headers={**headers, "Cancel-After": "1s"})
    assert response.status_code == 202, response.text
    accepted = response.json()
    deadline = (await api.job(accepted["job_id"])).start_deadline
    assert deadline is not None
    assert await api.balances(user) == (1, 1)  # held, not yet spent
    await asyncio.sleep(max(0.0, (deadline - utcnow()).total_seconds()) + 0.1)
    await api.start_worker()  # too late: the job ends without running
    image = await api.poll(f"{IMAGES}/{accepted['image_id']}", headers, _ended)
    assert (image["status"], image["error"]["code"]) == ("failed", "deadline")
    job = await api.job(accepted["job_id"])
    assert (job.status, job.attempts) == ("canceled", 0)
    assert await api.balances(user) == (1, 0)
    sent = [(e.type, e.payload()) for e in await api.runtime.user_events.replay(user.id, START)]
    assert sent == [
        (
            "job.canceled",
            {"job_id": accepted["job_id"], "kind": "staging.stage", "status": "canceled", "code": "deadline"},
        ),
        (
            "image.failed",
            {
                "image_id": accepted["image_id"],
                "project_id": body["project_id"],
                "job_id": accepted["job_id"],
                "status": "failed",
                "error": {"code": "deadline", "message": "The job did not start before its deadline."},
            },
        ),
    ]


async def test_a_completion_webhook_is_stored_and_delivered_signed(
    make_api: MakeApi, sqlite_url: str, receiver: Receiver
) -> None:
    api = await make_api(
        database_url=sqlite_url, job_webhook_allow_private=True, job_webhook_secret="whsec-s"
    )
    user, headers = await api.user()
    body = {**await _image_body(api, user, headers), "webhook": receiver.url}
    response = await api.client.post(IMAGES, json=body, headers=headers)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert (await api.job(accepted["job_id"])).webhook_url == receiver.url
    await api.start_worker()
    image = await api.poll(f"{IMAGES}/{accepted['image_id']}", headers, _ended)
    assert image["status"] == "ready", image
    for _ in range(300):
        if receiver.calls:
            break
        await asyncio.sleep(0.05)
    [(sent_headers, sent)] = receiver.calls
    parts = dict(item.split("=", 1) for item in sent_headers[SIGNATURE_HEADER.lower()].split(","))
    expected = hmac.new(b"whsec-s", f"{parts['t']}.".encode() + sent, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert (json.loads(sent)["id"], json.loads(sent)["status"]) == (accepted["job_id"], "succeeded")


async def test_bad_options_are_422_and_cost_nothing(make_api: MakeApi, sqlite_url: str) -> None:
    api = await make_api(database_url=sqlite_url, job_webhook_secret="whsec-s")
    user, headers = await api.user()
    body = await _image_body(api, user, headers)
    for header, value in [("Cancel-After", "soon"), ("Cancel-After", "25h"), ("Idempotency-Key", "")]:
        response = await api.client.post(IMAGES, json=body, headers={**headers, header: value})
        assert (response.status_code, response.json()["code"]) == (422, "validation_error"), header
        assert header in response.json()["detail"]
    private = {**body, "webhook": "http://127.0.0.1:9/hook"}
    response = await api.client.post(IMAGES, json=private, headers=headers)
    assert (response.status_code, response.json()["code"]) == (422, "webhook_not_allowed")
    listing = await api.client.get("/api/v1/projects?offset=9223372036854775808", headers=headers)
    assert listing.status_code == 422
    assert await api.balances(user) == (2, 0)


async def test_openapi_documents_the_kit_on_staging_routes(make_api: MakeApi, sqlite_url: str) -> None:
    api = await make_api(database_url=sqlite_url)
    spec = (await api.client.get("/openapi.json")).json()
    for path in (IMAGES, IMAGES + "/{image_id}/restage"):
        operation = spec["paths"][path]["post"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert {"Idempotency-Key", "Cancel-After"} <= headers
        for status in ("401", "402", "404", "409", "422"):
            assert list(operation["responses"][status]["content"]) == [PROBLEM_JSON], (path, status)
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert "webhook" in spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    for path in ("/api/v1/projects", "/api/v1/projects/{project_id}/images"):
        operation = spec["paths"][path]["get"]
        assert {"limit", "offset"} <= {p["name"] for p in operation["parameters"]}
        page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert {"items", "total", "limit", "offset"} == set(
            spec["components"]["schemas"][page.rsplit("/", 1)[1]]["properties"]
        )
        assert list(operation["responses"]["401"]["content"]) == [PROBLEM_JSON]
