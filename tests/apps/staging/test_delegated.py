"""A staging job another app submits on a person's behalf (the assistant's delegation: no project in
its payload) gets its image row with the job, in the person's "From the assistant" project, and
counts against their monthly quota; one naming another person's upload is refused at submit."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from conjure.apps.staging.models import Project, StagedImage
from conjure.apps.staging.quota import StagingQuotaExhausted
from conjure.apps.staging.service import DELEGATED_PROJECT, UploadNotFound
from conjure.apps.staging.tasks import KIND
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.service import submit_job_now
from tests.apps.staging.conftest import Api, StartApi, room_photo
from tests.apps.staging.test_quota import FREE_TWO


async def finished(api: Api, job_id: uuid.UUID) -> Job:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        async with api.runtime.db.session() as session:
            job = await session.get(Job, job_id)
        assert job is not None
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DLQ):
            return job
        assert asyncio.get_running_loop().time() < deadline, job.status
        await asyncio.sleep(0.05)


def payload(key: str) -> dict[str, str]:
    return {"upload_key": key, "room_type": "bedroom", "style": "coastal", "quality": "standard"}


async def test_a_job_without_a_project_is_given_its_image_in_the_assistant_project(
    start_api: StartApi, sqlite_url: str
) -> None:
    api = await start_api(database_url=sqlite_url)
    user, headers = await api.user(stars=3)
    key = await api.upload(headers, room_photo())
    submitted = await submit_job_now(api.runtime, user_id=user.id, kind=KIND, payload=payload(key))
    job = await finished(api, submitted.id)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    projects = (await api.client.get("/api/v1/projects", headers=headers)).json()["items"]
    assert [(p["name"], p["image_count"]) for p in projects] == [(DELEGATED_PROJECT, 1)]
    images = (await api.client.get(f"/api/v1/projects/{projects[0]['id']}/images", headers=headers)).json()
    [image] = images["items"]
    assert (image["status"], image["style"], image["job_id"]) == ("ready", "coastal", str(job.id))
    assert await api.balances(user.id) == (2, 0)  # charged once, like any staging
    again = await submit_job_now(api.runtime, user_id=user.id, kind=KIND, payload=payload(key))
    assert (await finished(api, again.id)).status == JobStatus.SUCCEEDED
    async with api.runtime.db.session() as session:
        [project] = (await session.scalars(select(Project).where(Project.user_id == user.id))).all()
        count = len(
            (await session.scalars(select(StagedImage).where(StagedImage.project_id == project.id))).all()
        )
    assert count == 2  # one project for all of them


async def test_another_persons_upload_is_refused_at_submit_and_makes_no_row(
    start_api: StartApi, sqlite_url: str
) -> None:
    api = await start_api(database_url=sqlite_url)
    user, _ = await api.user(stars=3)
    _, other_headers = await api.user(stars=3)
    theirs = await api.upload(other_headers, room_photo())
    with pytest.raises(UploadNotFound):
        await submit_job_now(api.runtime, user_id=user.id, kind=KIND, payload=payload(theirs))
    async with api.runtime.db.session() as session:
        assert (await session.scalars(select(Project).where(Project.user_id == user.id))).all() == []
        assert (await session.scalars(select(StagedImage).where(StagedImage.user_id == user.id))).all() == []
        assert (await session.scalars(select(Job).where(Job.user_id == user.id))).all() == []
    assert await api.balances(user.id) == (3, 0)  # nothing held


async def test_delegated_staging_counts_against_the_monthly_quota(
    start_api: StartApi, backend: dict[str, str]
) -> None:
    api = await start_api(subscription_plans=FREE_TWO, **backend)
    user, headers = await api.user(stars=5)
    # Three photos: the same request still in flight would be the same job (deduplicated).
    key, second, third = [await api.upload(headers, room_photo()) for _ in range(3)]
    first = await submit_job_now(api.runtime, user_id=user.id, kind=KIND, payload=payload(key))
    # The image row is made with the job, so the next submit counts it while it is still queued.
    async with api.runtime.db.session() as session:
        image = await session.scalar(select(StagedImage).where(StagedImage.job_id == first.id))
    assert image is not None
    await submit_job_now(api.runtime, user_id=user.id, kind=KIND, payload=payload(second))
    with pytest.raises(StagingQuotaExhausted):
        await submit_job_now(api.runtime, user_id=user.id, kind=KIND, payload=payload(third))
    body = {
        "project_id": await api.project(headers),
        "upload_key": key,
        "room_type": "bedroom",
        "style": "modern",
    }
    response = await api.client.post("/api/v1/images", json=body, headers=headers)
    assert (response.status_code, response.json()["code"]) == (429, "staging_quota_exhausted")
    async with api.runtime.db.session() as session:
        jobs = (await session.scalars(select(Job).where(Job.user_id == user.id))).all()
    assert len(jobs) == 2
