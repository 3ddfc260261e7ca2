"""A Replicate prediction whose job ended without it (a cancel, a deadline) is canceled on Replicate's
side by the sweep, once; a prediction a live job still waits on is left alone; and a job run again
after it ended (an operator's retry) starts over instead of resuming a stale checkpoint."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from conjure.apps.staging.cleanup import cancel_abandoned_predictions
from conjure.apps.staging.models import Prediction
from conjure.console.service import retry_job
from tests.apps.staging.conftest import Api, StartApi
from tests.apps.staging.replicate_peer import ReplicatePeer
from tests.apps.staging.test_parking import deliver, until_waiting
from tests.apps.staging.test_replicate import created, job_of, staging, submit


def replicate(peer: ReplicatePeer, **overrides: Any) -> dict[str, Any]:
    # The scheduler's own sweep is far off: the tests sweep when they choose.
    values = staging(staging_cancel_sweep_seconds=3600.0, **overrides)
    return {**values, "replicate_api_token": "r8_test", "replicate_base_url": peer.url}


async def prediction(api: Api, prediction_id: str) -> Prediction:
    async with api.runtime.db.session() as session:
        row = await session.get(Prediction, prediction_id)
    assert row is not None
    return row


async def test_a_canceled_jobs_prediction_is_canceled_once_and_a_live_one_is_kept(
    start_api: StartApi, peer: ReplicatePeer, backend: dict[str, str]
) -> None:
    api = await start_api(**replicate(peer), **backend)
    _, headers = await api.user(stars=2)
    dropped, kept = await submit(api, headers), await submit(api, headers)
    await created(peer, count=2)
    for job in (dropped, kept):
        await until_waiting(api, job["job_id"])
    by_job = {str((await prediction(api, pid)).job_id): pid for pid in peer.predictions}
    response = await api.client.post(f"/api/v1/jobs/{dropped['job_id']}/cancel", headers=headers)
    assert (response.status_code, response.json()["status"]) == (200, "canceled")

    assert await cancel_abandoned_predictions(api.runtime) == 1
    assert peer.cancels == [by_job[dropped["job_id"]]]
    ended = await prediction(api, by_job[dropped["job_id"]])
    assert ended.status == "canceled"
    assert ended.completed_at is not None
    assert (await prediction(api, by_job[kept["job_id"]])).completed_at is None
    # Recorded ended: the next sweep asks nothing.
    assert await cancel_abandoned_predictions(api.runtime) == 0
    assert len(peer.cancels) == 1
    # The job still waiting finishes as usual.
    assert await deliver(api, peer, by_job[kept["job_id"]]) == "recorded"
    assert (await api.wait_image(kept["image_id"], headers))["status"] == "ready"


async def test_a_provider_hiccup_leaves_the_prediction_for_the_next_sweep(
    start_api: StartApi, peer: ReplicatePeer, sqlite_url: str
) -> None:
    api = await start_api(**replicate(peer), database_url=sqlite_url)
    _, headers = await api.user(stars=1)
    accepted = await submit(api, headers)
    prediction_id = await created(peer)
    await until_waiting(api, accepted["job_id"])
    response = await api.client.post(f"/api/v1/jobs/{accepted['job_id']}/cancel", headers=headers)
    assert response.status_code == 200
    peer.cancel_statuses = [503]
    assert await cancel_abandoned_predictions(api.runtime) == 0
    assert (await prediction(api, prediction_id)).completed_at is None
    assert await cancel_abandoned_predictions(api.runtime) == 1
    assert peer.cancels == [prediction_id, prediction_id]
    assert (await prediction(api, prediction_id)).status == "canceled"


async def test_a_retried_job_starts_over_after_its_wait_ran_out(
    start_api: StartApi, peer: ReplicatePeer, sqlite_url: str
) -> None:
    api = await start_api(**replicate(peer, staging_wait_deadline_seconds=1.5), database_url=sqlite_url)
    user, headers = await api.user(stars=2)
    accepted = await submit(api, headers)
    first = await created(peer)
    done = await api.wait_image(accepted["image_id"], headers)
    assert (done["status"], done["error"]["code"]) == ("failed", "callback_timeout")
    assert await cancel_abandoned_predictions(api.runtime) == 1
    assert peer.cancels == [first]

    # The operator runs it again: its checkpoint names the canceled prediction, so it starts
    # over with a new one (and a new wait) instead of failing on the old one.
    async with api.runtime.db.session() as session:
        await retry_job(session, api.runtime, uuid.UUID(accepted["job_id"]), free=False)
    second = await created(peer, count=2)
    assert second != first
    await until_waiting(api, accepted["job_id"])
    assert await deliver(api, peer, second) == "recorded"
    for _ in range(200):
        if (await job_of(api, accepted["job_id"])).status == "succeeded":
            break
        await asyncio.sleep(0.025)
    assert (await job_of(api, accepted["job_id"])).status == "succeeded"
    assert (await api.wait_image(accepted["image_id"], headers))["status"] == "ready"
    assert await api.balances(user.id) == (1, 0)  # charged once, for the run that staged it
