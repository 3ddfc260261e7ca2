"""The ops jobs: triage an inbound message, qualify a lead (both free: no stars are held)."""

from __future__ import annotations

import uuid
from typing import Any

from conjure.apps.ops import ai, inbox, offline, texts
from conjure.apps.ops.crypto import cipher_for
from conjure.apps.ops.leads import lead_context
from conjure.apps.ops.models import Lead
from conjure.db import utcnow
from conjure.jobs.registry import JobContext, PermanentJobError

TRIAGE = inbox.TRIAGE_KIND
QUALIFY = "ops.qualify_lead"
QUALIFY_INSTRUCTIONS = (
    "Score this catering lead from 0 to 100 by how likely it is to book soon (date, guest count, occasion, "
    "contact details). Give short reasons and one suggested next step for the sales team."
)


async def triage_message(ctx: JobContext) -> dict[str, Any]:
    """Classify one inbound message and apply the escalation policy."""
    message_id = uuid.UUID(str(ctx.payload["message_id"]))
    try:
        level = await inbox.triage(ctx.db, ctx.settings, ctx.limiter, message_id, ctx.user_events)
    except texts.TextUnreadable as exc:
        # A text that does not open now will not open on a retry: failed, not five crashes and a DLQ.
        raise PermanentJobError(exc.code, exc.message) from None
    return {"level": level}


async def qualify_lead(ctx: JobContext) -> dict[str, Any]:
    """Score a lead (0-100) with reasons and a next step; the score is stored on the lead.

    The payload is the lead's id: its message is read (and opened) here, never put in the jobs table."""
    lead_id = uuid.UUID(str(ctx.payload["lead_id"]))
    cipher = cipher_for(ctx.settings)
    async with ctx.db.session() as session:
        lead = await session.get(Lead, lead_id)
        if lead is None:
            raise PermanentJobError("not_found", "The lead is gone.")
        station_id, has_phone = lead.station_id, lead.phone_enc is not None
        try:
            message = texts.LEAD_MESSAGE.read(cipher, lead)
        except texts.TextUnreadable as exc:
            raise PermanentJobError(exc.code, exc.message) from None
        name = cipher.decrypt(lead.name_enc, lead_context(station_id, "name"))
    actor = str(ctx.user_id) if ctx.user_id else "system"
    try:
        result = await ai.run_ai(
            ctx.db, ctx.settings, ctx.limiter, station_id, task="qualify_lead", actor=actor,
            input_ref=f"lead:{lead_id}", critical=False, instructions=QUALIFY_INSTRUCTIONS,
            prompt=f"Lead from {name or 'a customer'} (phone given: {has_phone}):\n{message}",
            output_type=offline.LeadScore, offline=lambda: offline.score_lead(message, has_phone),
            events=ctx.user_events,
        )  # fmt: skip
    except ai.AIUnavailable as exc:
        raise PermanentJobError("ai_unavailable", f"No AI for this station now ({exc.reason}).") from None
    score = result.output
    async with ctx.db.session() as session:
        lead = await session.get(Lead, lead_id)
        if lead is not None:
            lead.score, lead.reasons, lead.next_step = score.score, score.reasons, score.next_step
            lead.updated_at = utcnow()
    return score.model_dump()
