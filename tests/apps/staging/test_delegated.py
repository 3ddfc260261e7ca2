"""A staging job another app submits on a person's behalf (the assistant's delegation: no project in
its payload) gets its image row on its first run, in the person's "From the assistant" project;
one naming another person's upload fails before any row is made."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from conjure.apps.staging.models import Project, StagedImage
from conjure.apps.staging.tasks import DELEGATED_PROJECT, KIND
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.service import submit_job_now
from tests.apps.staging.conftest import Api, StartApi, room_photo


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


async def test_another_persons_upload_fails_and_makes_no_row(start_api: StartApi, sqlite_url: str) -> None:
    api = await start_api(database_url=sqlite_url)
    user, _ = await api.user(stars=3)
    _, other_headers = await api.user(stars=3)
    theirs = await api.upload(other_headers, room_photo())
    submitted = await submit_job_now(api.runtime, user_id=user.id, kind=KIND, payload=payload(theirs))
    job = await finished(api, submitted.id)
    assert (job.status, job.error_code) == (JobStatus.FAILED, "invalid_upload_key")
    async with api.runtime.db.session() as session:
        assert (await session.scalars(select(Project).where(Project.user_id == user.id))).all() == []
        assert (await session.scalars(select(StagedImage).where(StagedImage.user_id == user.id))).all() == []
    assert await api.balances(user.id) == (3, 0)
