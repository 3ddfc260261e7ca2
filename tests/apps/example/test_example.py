"""A new app from the kit alone runs end to end on both backends: HTTP → worker → its row, its setting."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from conjure.migrations.runner import upgrade
from tests.apps.conftest import MakeApi
from tests.apps.example.app import EXAMPLE
from tests.apps.example.models import Greeting


@pytest.fixture
def example_backend(backend: dict[str, str]) -> dict[str, str]:
    """The backend's database (migrated to the platform's and apps' heads) plus the example's branch."""
    upgrade(backend["database_url"], apps=[EXAMPLE])
    return backend


async def test_the_example_app_runs_end_to_end(make_api: MakeApi, example_backend: dict[str, str]) -> None:
    api = await make_api(apps=[EXAMPLE], example_greeting="bonjour", **example_backend)
    user, headers = await api.user(stars=1)

    response = await api.client.post("/api/example/greet", json={"name": "Ada"}, headers=headers)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    # The only star is held until the job ends: a second greeting is refused.
    again = await api.client.post("/api/example/greet", json={"name": "Bob"}, headers=headers)
    assert again.status_code == 402
    await api.start_worker()
    view = await api.poll(f"/api/example/greet/{job_id}", headers, lambda b: b["status"] == "succeeded")
    assert view["text"] == "bonjour, Ada"  # its setting, given like any app's

    async with api.runtime.db.session() as session:
        rows = list(await session.scalars(select(Greeting)))
    assert [(str(r.job_id), r.user_id, r.text) for r in rows] == [(job_id, user.id, "bonjour, Ada")]
    page = (await api.client.get("/api/example/greetings", headers=headers)).json()
    items = [{"job_id": job_id, "text": "bonjour, Ada"}]
    assert page == {"items": items, "total": 1, "limit": 20, "offset": 0}
    assert await api.balances(user) == (0, 0)  # charged on success
    _, other_headers = await api.user()
    assert (await api.client.get(f"/api/example/greet/{job_id}", headers=other_headers)).status_code == 404
