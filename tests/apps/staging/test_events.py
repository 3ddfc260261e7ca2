"""``image.ready`` reaches the owner's event stream (``GET /api/v1/events``, a real SSE client) once a
staging job finishes on the offline provider, after ``job.succeeded``; another user's stream hears nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx

from conjure.events.service import publish_user_event
from tests.apps.staging.conftest import StartApi, room_photo
from tests.events.conftest import SseReader, serve

EVENTS = "/api/v1/events"


async def test_the_owners_stream_gets_image_ready_and_no_one_elses_does(
    start_api: StartApi, backend: dict[str, str]
) -> None:
    api = await start_api(**backend)
    _, headers = await api.user(stars=1)
    other, other_headers = await api.user()
    project = await api.project(headers)
    key = await api.upload(headers, room_photo())
    body = {"project_id": project, "upload_key": key, "room_type": "bedroom", "style": "coastal"}
    # The event route over a real socket (SSE); the staging routes through the in-process client.
    async with (
        serve(api.runtime) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as sse,
        sse.stream("GET", EVENTS, headers=headers) as mine,
        sse.stream("GET", EVENTS, headers=other_headers) as theirs,
    ):
        assert (mine.status_code, theirs.status_code) == (200, 200)
        response = await api.client.post("/api/v1/images", json=body, headers=headers)
        assert response.status_code == 202, response.text
        accepted = response.json()
        reader = SseReader(mine)
        messages = [await reader.message(timeout=30) for _ in range(2)]
        # Published to the other user after the owner's events: the first thing their stream gets.
        await publish_user_event(api.runtime.user_events, other.id, "test.marker", {"n": 1})
        first_of_theirs = await SseReader(theirs).message()
    assert [m["event"] for m in messages] == ["job.succeeded", "image.ready"]
    outcome: dict[str, Any] = json.loads(messages[0]["data"])
    assert outcome == {"job_id": accepted["job_id"], "kind": "staging.stage", "status": "succeeded"}
    ready: dict[str, Any] = json.loads(messages[1]["data"])
    assert (ready["image_id"], ready["project_id"], ready["job_id"], ready["status"]) == (
        accepted["image_id"],
        project,
        accepted["job_id"],
        "ready",
    )
    # The event's links work and show what the image route shows.
    image = (await api.client.get(f"/api/v1/images/{accepted['image_id']}", headers=headers)).json()
    assert image["status"] == "ready"
    staged = await api.fetch(ready["staged_url"])
    assert (staged.status_code, staged.content) == (200, (await api.fetch(image["staged_url"])).content)
    assert first_of_theirs["event"] == "test.marker"
