"""An answer that follows a delegated job (a child of the answer's job) into the conversation.

It says what started and for how much, streams the child's progress steps as they change, and
ends with its result (the reading, a signed link to the image), or with where to find it if it
takes longer than the answer may wait. A cancel of the answer is noticed at each reported step.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from conjure.apps.assistant.delegation import Offer, result_object_key, result_text
from conjure.apps.assistant.phrases import DEFAULT_LANGUAGE, Language, say, stars, step_line
from conjure.apps.assistant.responders import Answer
from conjure.jobs.models import TERMINAL_STATUSES, Job

if TYPE_CHECKING:
    from conjure.apps.assistant.streaming import DeltaWriter
    from conjure.jobs.registry import JobContext

POLL_SECONDS = 0.1
CANCEL_CHECK_SECONDS = 2.0  # report a step at least this often, so a cancel is seen
DELEGATION_MODEL = "delegation"


async def _child(ctx: JobContext, child_id: uuid.UUID) -> Job | None:
    async with ctx.db.session() as session:
        return await session.get(Job, child_id)


async def follow_child(
    ctx: JobContext,
    writer: DeltaWriter,
    delegated: dict[str, Any],
    wait: float,
    language: Language = DEFAULT_LANGUAGE,
) -> Answer:
    """Stream the child's progress and result; returns the whole answer (its text as streamed)."""
    offer = Offer.from_dict(delegated)
    child_id = uuid.UUID(str(delegated["job_id"]))
    price = stars(language, offer.price_stars)
    await writer.add(say(language, "start", label=offer.label(language), stars=price))
    await writer.flush()
    loop = asyncio.get_running_loop()
    deadline, checked = loop.time() + wait, loop.time()
    last: tuple[str, str | None] | None = None
    while True:
        child = await _child(ctx, child_id)
        if child is None or child.status in TERMINAL_STATUSES:
            break
        progress = child.progress or {}
        step = progress.get("message") or progress.get("step")
        if (child.status, step) != last or loop.time() - checked > CANCEL_CHECK_SECONDS:
            line = step_line(language, str(progress.get("step") or ""), str(step or ""))
            if line and (last is None or step != last[1]):
                await writer.add(f" {line}…")
            last, checked = (child.status, step), loop.time()
            data = {"child_job_id": str(child_id), "child_status": child.status}
            await ctx.progress("delegating", data=data)
        if loop.time() > deadline:
            await writer.add("\n\n" + say(language, "slow", job_id=child_id))
            await writer.flush()
            return _answer(writer, offer, "running")
        await asyncio.sleep(POLL_SECONDS)
    status = child.status if child is not None else "deleted"
    result = child.result if child is not None else None
    image_url = None
    image_key = result_object_key(offer, result) if status == "succeeded" else None
    if image_key:
        ttl = ctx.settings.storage_presign_ttl_seconds
        image_url = await ctx.storage.presigned_get_url(image_key, expires_seconds=ttl)
    await writer.add("\n\n" + result_text(offer, str(status), result, image_url, language))
    await writer.flush()
    answer = _answer(writer, offer, str(status))
    if image_url:
        answer.extra.update(image_url=image_url, image_key=image_key)  # the page signs it again
    return answer


def _answer(writer: DeltaWriter, offer: Offer, child_status: str) -> Answer:
    return Answer(
        text=writer.text,
        model=DELEGATION_MODEL,
        route=f"tool:{offer.tool}",
        extra={"child_status": child_status},
    )
