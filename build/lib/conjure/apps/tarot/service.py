"""Tarot business rules: submit a reading (hold one star), show a reading job, list past readings."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.tarot.models import TarotReading
from conjure.apps.tarot.pipeline import tarot_prompts
from conjure.apps.tarot.tasks import KIND
from conjure.kit.submit import SubmitOptions, job_of_kind, submit
from conjure.settings import Settings

if TYPE_CHECKING:
    from conjure.jobs.models import Job, JobSnapshot
    from conjure.runtime import Runtime
    from conjure.users.models import User


async def submit_reading(
    runtime: Runtime,
    options: SubmitOptions,
    *,
    user_id: uuid.UUID,
    question: str,
    webhook_url: str | None = None,
) -> Job:
    """Queue a reading; the engine holds one star (402 ``insufficient_stars`` when none is available)."""
    return await submit(
        runtime,
        options,
        user_id=user_id,
        kind=KIND,
        payload={"question": question},
        webhook_url=webhook_url,
        # The engine knows the packaged prompts; record the ones this deployment actually uses.
        prompt_version=tarot_prompts(runtime.settings).version,
    )


async def reading_job(runtime: Runtime, job_id: uuid.UUID, user_id: uuid.UUID) -> Job | JobSnapshot:
    """The caller's reading job (404 for another user's job or a job of another kind)."""
    return await job_of_kind(runtime, job_id, user_id, KIND, missing="No such reading.")


async def list_readings(
    session: AsyncSession, user: User, *, limit: int = 20, offset: int = 0
) -> tuple[list[TarotReading], int]:
    """The caller's readings, newest first, and how many there are in all."""
    total = await session.scalar(select(func.count()).where(TarotReading.user_id == user.id))
    rows = await session.execute(
        select(TarotReading)
        .where(TarotReading.user_id == user.id)
        .order_by(TarotReading.created_at.desc(), TarotReading.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars().all()), int(total or 0)


# --- account deletion and data export (AppSpec.erase_user / export_user) -----------------


async def erase_user_readings(session: AsyncSession, user_id: uuid.UUID, settings: Settings) -> None:
    """Account deletion: the person's readings (their questions and what they were told) go."""
    await session.execute(delete(TarotReading).where(TarotReading.user_id == user_id))


async def export_user_readings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """The person's readings for their data export, oldest first."""
    rows = (
        await session.execute(
            select(TarotReading).where(TarotReading.user_id == user_id).order_by(TarotReading.created_at)
        )
    ).scalars()
    readings = [
        {
            "job_id": str(row.job_id),
            "question": row.question,
            "language": row.language,
            "cards": row.cards,
            "reading": row.reading,
            "analysis": row.question_analysis,
            "created_at": row.created_at.isoformat(),
        }
        for row in rows
    ]
    return {"readings": readings}
