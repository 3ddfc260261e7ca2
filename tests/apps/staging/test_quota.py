"""The plan's monthly staging quota (``staging_images_per_month``): counted per calendar month,
failed images free their place, replays pass, and two submits at the edge cannot both pass."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from conjure.apps.staging.quota import StagingQuotaExhausted, month_bounds
from conjure.apps.staging.schemas import ImageCreate
from conjure.apps.staging.service import create_image
from conjure.kit.submit import SubmitOptions
from conjure.settings import SubscriptionPlan
from tests.apps.staging.conftest import Api, StartApi, room_photo

FREE_TWO = [SubscriptionPlan(id="free", name="Free", limits={"staging_images_per_month": 2})]


async def _stage(api: Api, headers: dict[str, str], body: dict[str, Any], **extra: str) -> Any:
    return await api.client.post("/api/v1/images", json=body, headers={**headers, **extra})


async def test_two_submits_at_the_edge_cannot_both_pass(start_api: StartApi, backend: dict[str, str]) -> None:
    api = await start_api(**backend, subscription_plans=FREE_TWO)
    user, headers = await api.user(stars=10)
    project = await api.project(headers)
    key = await api.upload(headers, room_photo())
    body = {"project_id": project, "upload_key": key, "room_type": "office", "style": "minimalist"}
    first = await _stage(api, headers, body, **{"Idempotency-Key": "first"})
    assert first.status_code == 202, first.text
    # One place left: two submits of two photos (nothing else of theirs shared), each in its own
    # transaction, race for it.
    keys = [await api.upload(headers, room_photo()) for _ in range(2)]

    async def submit(key: str) -> BaseException | None:
        request = ImageCreate.model_validate({**body, "upload_key": key})
        try:
            async with api.runtime.db.session() as session:
                await create_image(session, api.runtime, user.id, request, SubmitOptions())
        except StagingQuotaExhausted as exc:
            return exc
        return None

    outcomes = await asyncio.gather(*(submit(key) for key in keys))
    refusals = [o for o in outcomes if isinstance(o, StagingQuotaExhausted)]
    assert len(refusals) == 1, outcomes
    # Over HTTP: a problem with the quota's figures and when it resets.
    refused = await _stage(api, headers, {**body, "style": "luxury"})
    problem = refused.json()
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (problem["code"], problem["limit"], problem["used"]) == ("staging_quota_exhausted", 2, 2)
    _, resets = month_bounds(dt.datetime.now(dt.UTC))
    assert problem["resets_at"] == resets.isoformat()
    assert 0 < int(refused.headers["Retry-After"]) <= 32 * 86400
    # The refused request wrote nothing: no job, no hold (two images' stars held or spent).
    star_balance, held = await api.balances(user.id)
    assert star_balance - held == 8
    # A replay of an image already staged still gets it back past the quota.
    again = await _stage(api, headers, body, **{"Idempotency-Key": "first"})
    assert (again.status_code, again.json()["image_id"]) == (202, first.json()["image_id"])


async def test_a_failed_image_does_not_count(start_api: StartApi, sqlite_url: str) -> None:
    api = await start_api(database_url=sqlite_url, subscription_plans=FREE_TWO)
    _, headers = await api.user(stars=10)
    project = await api.project(headers)
    bad = await api.upload(headers, b"<html>not a photo</html>")
    body = {"project_id": project, "upload_key": bad, "room_type": "kitchen", "style": "industrial"}
    failed = (await _stage(api, headers, body)).json()
    assert (await api.wait_image(failed["image_id"], headers))["status"] == "failed"
    good = await api.upload(headers, room_photo())
    for style in ("minimalist", "luxury"):  # both places are still free
        staged = await _stage(api, headers, {**body, "upload_key": good, "style": style})
        assert staged.status_code == 202, staged.text
    over = await _stage(api, headers, {**body, "upload_key": good, "style": "scandinavian"})
    assert (over.status_code, over.json()["code"]) == (429, "staging_quota_exhausted")


def test_the_month_is_the_calendar_month_in_utc() -> None:
    start, end = month_bounds(dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC))
    assert (start, end) == (dt.datetime(2026, 12, 1, tzinfo=dt.UTC), dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    # 06:30 on 1 March in Bangkok is still February in UTC.
    bangkok = dt.timezone(dt.timedelta(hours=7))
    start, end = month_bounds(dt.datetime(2026, 3, 1, 6, 30, tzinfo=bangkok))
    assert (start, end) == (dt.datetime(2026, 2, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
