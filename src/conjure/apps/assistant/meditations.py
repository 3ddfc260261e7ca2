"""Guided meditations: ``POST /api/v1/assistant/meditations`` queues an ``assistant.meditation``
job that writes the script in segments, voices each (progress per segment, cancelable between
them), stitches one audio file with the pauses that make the asked length, and stores it.

The job holds ``ASSISTANT_MEDITATION_PRICE_STARS`` and is charged when the audio is stored; a
cancel or a failure releases it. It runs up to ``ASSISTANT_MEDITATION_TIMEOUT_SECONDS`` (10 min)
with the worker's heartbeats keeping its lease.

The script is written in the page's language (``language`` on the request, Thai whatever the page's
for a theme written in Thai, kept in the job's payload: English or Thai) by a model when one is configured
(:mod:`conjure.apps.assistant.scriptwriter`), else offline (:mod:`conjure.apps.assistant.script`),
voiced by a voice that reads it
(:func:`conjure.apps.assistant.speech.make_speaker`), and kept in the job's result (``script``),
so the page can show the words beside the audio.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.assistant.models import Meditation
from conjure.apps.assistant.phrases import DEFAULT_LANGUAGE, Language, language_of
from conjure.apps.assistant.script import meditation_language
from conjure.apps.assistant.scriptwriter import compose
from conjure.apps.assistant.speech import SpeechError, make_speaker, normalize, run, stitch
from conjure.db import utcnow
from conjure.errors import NotFound
from conjure.jobs.models import Job
from conjure.jobs.registry import JobContext, PermanentJobError, RetryableJobError
from conjure.kit.submit import SubmitOptions, submit_in

if TYPE_CHECKING:
    from conjure.events.types import NewEvent
    from conjure.runtime import Runtime

MEDITATE = "assistant.meditation"
MIN_MINUTES, MAX_MINUTES = 3, 20
OGG_QUALITY = "3"  # Vorbis quality: ~5 MB for 20 minutes of speech and silence


def audio_key(user_id: uuid.UUID | None, job_id: uuid.UUID) -> str:
    return f"assistant/meditations/user_{user_id}/{job_id}.ogg"


async def create_meditation(
    session: AsyncSession,
    runtime: Runtime,
    user_id: uuid.UUID,
    *,
    theme: str,
    minutes: int,
    voice: str | None,
    options: SubmitOptions,
    language: Language = DEFAULT_LANGUAGE,
) -> tuple[Meditation, Job]:
    """Queue a meditation: its row and its job commit together (its price held)."""
    language = meditation_language(theme, language)  # a Thai theme: a Thai meditation
    meditation = Meditation(user_id=user_id, theme=theme, minutes=minutes, voice=voice)
    session.add(meditation)
    await session.flush()
    payload = {
        "meditation_id": str(meditation.id),
        "theme": theme,
        "minutes": minutes,
        "voice": voice,
        "language": language,
    }
    job = await submit_in(session, runtime, options, user_id=user_id, kind=MEDITATE, payload=payload)
    meditation.job_id = job.id
    await session.flush()
    return meditation, job


async def get_meditation(
    session: AsyncSession, user_id: uuid.UUID, meditation_id: uuid.UUID
) -> tuple[Meditation, Job | None]:
    row = (
        await session.execute(
            select(Meditation, Job)
            .outerjoin(Job, Job.id == Meditation.job_id)
            .where(Meditation.id == meditation_id, Meditation.user_id == user_id)
        )
    ).first()
    if row is None:
        raise NotFound("No such meditation.")
    return row[0], row[1]


def _payload(ctx: JobContext) -> tuple[str, int, str | None, Language]:
    theme, minutes, voice = ctx.payload.get("theme"), ctx.payload.get("minutes"), ctx.payload.get("voice")
    if (
        not isinstance(theme, str)
        or not isinstance(minutes, int)
        or not MIN_MINUTES <= minutes <= MAX_MINUTES
    ):
        raise PermanentJobError("invalid_payload", "A meditation needs a theme and 3-20 minutes.")
    # English for a payload without one (queued before meditations had a language).
    language = language_of(ctx.payload.get("language"))
    return theme, minutes, voice if isinstance(voice, str) else None, language


async def make_meditation(ctx: JobContext) -> dict[str, Any]:
    """Script → voice each segment → stitch with pauses → encode → store."""
    theme, minutes, voice, language = _payload(ctx)
    await ctx.progress("writing", message="Writing the script")  # a model may take a while
    script = await compose(ctx.settings, theme, minutes, language)
    if script.answer is not None:
        script.answer.record_on(ctx, "script")
    segments = script.segments
    speaker = make_speaker(ctx.settings, voice, language)
    target = minutes * 60.0
    try:
        with tempfile.TemporaryDirectory(prefix="meditation-") as scratch:
            folder = Path(scratch)
            clips, spoken = [], 0.0
            for index, segment in enumerate(segments):
                raw, clip = folder / f"raw-{index}", folder / f"clip-{index}.wav"
                await speaker.speak(segment.text, raw)
                spoken += await normalize(raw, clip)
                clips.append(clip)
                data = {"segment": index + 1, "segments": len(segments)}
                await ctx.progress(
                    "voicing", message=f"Voiced part {index + 1} of {len(segments)}", data=data
                )
            if spoken > target * 0.9:
                raise PermanentJobError("script_too_long", "The spoken script is longer than the meditation.")
            silence, weights = target - spoken, sum(s.pause_weight for s in segments)
            pauses = [silence * s.pause_weight / weights for s in segments]
            await ctx.progress("stitching", message="Putting it together")
            duration = await asyncio.to_thread(stitch, clips, pauses, folder / "all.wav")
            encoded = folder / "meditation.ogg"
            await run("sox", str(folder / "all.wav"), "-C", OGG_QUALITY, str(encoded))
            audio = encoded.read_bytes()
    except SpeechError as exc:
        if exc.permanent:  # no such voice, a refused request: another try cannot work
            raise PermanentJobError("speech_refused", str(exc)) from exc
        raise RetryableJobError("speech_failed", str(exc)) from exc
    key = audio_key(ctx.user_id, ctx.job_id)
    await ctx.storage.put(key, audio, content_type="audio/ogg")
    ctx.record_usage(provider=speaker.name, step="speech")
    return {
        "meditation_id": ctx.payload.get("meditation_id"),
        "audio_key": key,
        "duration_seconds": round(duration, 2),
        "segments": len(segments),
        "voice": speaker.name,
        "bytes": len(audio),
        "language": language,
        "script": [segment.text for segment in segments],
        "written_by": script.source,
    }


async def save_meditation(session: AsyncSession, job: Job, result: dict[str, Any]) -> Sequence[NewEvent]:
    """Record the stored audio on the meditation (in the job's finishing transaction)."""
    meditation = await session.scalar(select(Meditation).where(Meditation.job_id == job.id).with_for_update())
    if meditation is not None and meditation.audio_key is None:
        meditation.audio_key = result["audio_key"]
        meditation.duration_seconds = float(result["duration_seconds"])
        meditation.ready_at = utcnow()
    return []
