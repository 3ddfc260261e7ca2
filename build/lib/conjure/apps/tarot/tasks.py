"""The ``tarot.reading`` job: run the pipeline on a worker, then save the reading when the job succeeds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conjure.apps.tarot.models import TarotReading
from conjure.apps.tarot.pipeline import TarotPipeline
from conjure.jobs.registry import JobContext, PermanentJobError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from conjure.jobs.models import Job

KIND = "tarot.reading"


async def run_reading(ctx: JobContext) -> dict[str, Any]:
    """Handler: filter, analyze, draw, read and format one question; the result is stored on the job."""
    question = ctx.payload.get("question")
    if not isinstance(question, str) or not question.strip():
        raise PermanentJobError("invalid_payload", "The job has no question.")
    pipeline = TarotPipeline.from_settings(ctx.settings)
    return await pipeline.run(question.strip(), ctx)


async def save_reading(session: AsyncSession, job: Job, result: dict[str, Any]) -> None:
    """``on_success``: insert the ``tarot_readings`` row in the same transaction that captures the star."""
    if job.user_id is None:
        return
    job.prompt_version = result["prompt_version"]
    session.add(
        TarotReading(
            user_id=job.user_id,
            job_id=job.id,
            question=result["question"],
            question_length=len(result["question"]),
            language=result["language"],
            card_count=result["card_count"],
            draw_id=result["draw_id"],
            cards=result["cards"],
            reading={
                "text": result["reading"],
                "synthesis": result["synthesis"],
                "advice": result["advice"],
                "offline": result["offline"],
            },
            question_analysis=result["analysis"],
            prompt_version=result["prompt_version"],
            provider=result["provider"],
            processing_time_ms=result["processing_time_ms"],
            usage=result.get("usage"),
        )
    )
