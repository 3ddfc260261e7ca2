"""Ops HTTP routes, part 2: leads, reviews, the inbox, AI drafts, AI usage, alerts and the audit trail."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops import ai, customer_keys, leads, offline, reviews, texts, threads
from conjure.apps.ops.bookings import view as booking_view
from conjure.apps.ops.crypto import PIICipher
from conjure.apps.ops.deps import ManagerAccess, OwnerAccess, StaffAccess, ViewerAccess
from conjure.apps.ops.models import Alert, AuditEntry, Draft
from conjure.apps.ops.router import BookingZoneDep, CipherDep
from conjure.apps.ops.schemas import (
    AlertView,
    AssignIn,
    AuditView,
    BookingView,
    DraftDecision,
    DraftView,
    JobAccepted,
    LeadConvert,
    LeadCreate,
    LeadStatusChange,
    LeadView,
    MessageView,
    ReplyIn,
    ReviewCreate,
    ReviewPublish,
    ReviewView,
    ThreadDetail,
    ThreadView,
    UsageView,
)
from conjure.apps.ops.tasks import QUALIFY
from conjure.db import utcnow
from conjure.deps import RuntimeDep, SessionDep
from conjure.errors import ConjureError
from conjure.jobs.service import submit_job
from conjure.kit.paging import Page, PageDep
from conjure.kit.problems import problems
from conjure.kit.submit import IdempotencyKey

router = APIRouter(prefix="/api/v1/ops", tags=["ops"])
S = "/stations/{sid}"
_R = problems(401, 403, 404, 422)
_W = problems(401, 403, 404, 409, 422)


class AIOff(ConjureError):
    code, status = "ai_unavailable", 503


# --- leads ----------------------------------------------------------------------------------


@router.get(S + "/leads", responses=_R)
async def list_leads(
    access: ViewerAccess,
    session: SessionDep,
    cipher: CipherDep,
    page: PageDep,
    status: Literal["new", "contacted", "qualified", "won", "lost"] | None = None,
    sort: Literal["created_at", "-created_at", "score", "-score"] = "-created_at",
) -> Page[LeadView]:
    """The station's leads (the board groups them by status)."""
    rows, total = await leads.list_leads(
        session, access.station_id, status=status, sort=sort, limit=page.limit, offset=page.offset
    )
    return Page[LeadView](
        items=[leads.view(cipher, x, lenient=True) for x in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(S + "/leads", status_code=201, responses=_R)
async def create_lead(
    body: LeadCreate, access: StaffAccess, session: SessionDep, cipher: CipherDep
) -> LeadView:
    """A lead entered by a member (a call, a walk-in, a message)."""
    return leads.view(cipher, await leads.create_lead(session, cipher, access.station_id, body, "manual"))


@router.get(S + "/leads/{lead_id}", responses=_R)
async def read_lead(
    lead_id: uuid.UUID, access: ViewerAccess, session: SessionDep, cipher: CipherDep
) -> LeadView:
    """One lead with its AI score, reasons and suggested next step."""
    return leads.view(cipher, await leads.get_lead(session, access.station_id, lead_id))


@router.post(S + "/leads/{lead_id}/status", responses=_W)
async def change_lead_status(
    lead_id: uuid.UUID, body: LeadStatusChange, access: StaffAccess, session: SessionDep, cipher: CipherDep
) -> LeadView:
    """``new → contacted → qualified → won | lost``."""
    lead = await leads.get_lead(session, access.station_id, lead_id)
    # A message that does not open shows null: it does not stop the lead's move.
    return leads.view(cipher, leads.set_status(lead, body.status), lenient=True)


@router.post(S + "/leads/{lead_id}/qualify", status_code=202, responses=_R)
async def qualify_lead(
    lead_id: uuid.UUID, access: StaffAccess, session: SessionDep, runtime: RuntimeDep
) -> JobAccepted:
    """Queue the AI qualification (score 0-100, reasons, next step); poll ``/api/v1/jobs/{id}``."""
    lead = await leads.get_lead(session, access.station_id, lead_id)
    job = await submit_job(
        session, runtime, user_id=access.user_id, kind=QUALIFY, payload={"lead_id": str(lead.id)}
    )
    return JobAccepted(job_id=job.id, status=job.status)


@router.post(S + "/leads/{lead_id}/convert", status_code=201, responses=_W)
async def convert_lead(
    lead_id: uuid.UUID,
    body: LeadConvert,
    access: StaffAccess,
    session: SessionDep,
    cipher: CipherDep,
    zone: BookingZoneDep,
) -> BookingView:
    """Turn a lead into a customer and a pending booking; the lead is won (422 ``booking_in_past``
    for a start that has passed)."""
    lead = await leads.get_lead(session, access.station_id, lead_id)
    booking = await leads.convert(
        session, cipher, access.station, lead, body, user_id=access.user_id, zone=zone
    )
    return booking_view(cipher, booking)


# --- reviews --------------------------------------------------------------------------------


@router.get(S + "/reviews", responses=_R)
async def list_reviews(
    access: ViewerAccess,
    session: SessionDep,
    cipher: CipherDep,
    page: PageDep,
    rating: Annotated[int | None, Query(ge=1, le=5)] = None,
    reply_status: Literal["none", "drafted", "published"] | None = None,
    sort: Literal["created_at", "-created_at", "rating", "-rating"] = "-created_at",
) -> Page[ReviewView]:
    """The station's reviews with their reply state."""
    rows, total = await reviews.list_reviews(
        session, access.station_id, rating=rating, reply_status=reply_status, sort=sort,
        limit=page.limit, offset=page.offset,
    )  # fmt: skip
    return Page[ReviewView](
        items=[reviews.view(cipher, r, lenient=True) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(S + "/reviews", status_code=201, responses=_W)
async def create_review(
    body: ReviewCreate, access: StaffAccess, session: SessionDep, cipher: CipherDep
) -> ReviewView:
    """A review entered by hand (Google's arrive through the inbox)."""
    return reviews.view(cipher, await reviews.create_review(session, access.station_id, body))


@router.post(S + "/reviews/{review_id}/draft", responses=problems(401, 403, 404, 422, 503))
async def draft_review_reply(
    review_id: uuid.UUID, access: StaffAccess, session: SessionDep, cipher: CipherDep, runtime: RuntimeDep
) -> ReviewView:
    """An AI reply draft for the review (503 ``ai_unavailable`` over budget or rate)."""
    review = await reviews.get_review(session, access.station_id, review_id)
    rating, reviewer, text, name = review.rating, review.reviewer_name, review.text, access.station.name
    await session.commit()  # the model call runs outside any transaction
    try:
        result = await ai.run_ai(
            runtime.db, runtime.settings, runtime.limiter, access.station_id, task="review_reply",
            actor=str(access.user_id), input_ref=f"review:{review_id}", critical=True,
            instructions=reviews.DRAFT_INSTRUCTIONS, prompt=f"Station: {name}\nRating: {rating}/5\n{text}",
            output_type=offline.ReplyDraft, offline=lambda: offline.review_reply(rating, reviewer, name),
            events=runtime.user_events,
        )  # fmt: skip
    except ai.AIUnavailable as exc:
        raise AIOff(f"No AI for this station right now ({exc.reason}); write the reply yourself.") from None
    review = await reviews.get_review(session, access.station_id, review_id)
    texts.REVIEW_DRAFT.seal_into(cipher, review, result.output.text)
    if review.reply_status == "none":
        review.reply_status = "drafted"
    return reviews.view(cipher, review)


@router.post(S + "/reviews/{review_id}/publish", responses=problems(401, 403, 404, 422, 502))
async def publish_review_reply(
    review_id: uuid.UUID,
    body: ReviewPublish,
    access: ManagerAccess,
    session: SessionDep,
    cipher: CipherDep,
    runtime: RuntimeDep,
) -> ReviewView:
    """Publish the reply (the draft, or the text given) where the review is (managers)."""
    review = await reviews.get_review(session, access.station_id, review_id)
    # The draft is opened strictly only when it is what gets published: the member's own text
    # replaces one that does not open (then "edited": nothing shows it matched).
    drafted = texts.readable(body.text is not None, texts.REVIEW_DRAFT.read, cipher, review)
    text = body.text or drafted
    if not text:
        raise ConjureError("Give the reply's text or draft one first.", code="no_reply", status=422)
    await reviews.publish(session, runtime.settings, review, text)
    ai.record_decision(
        session, access.station_id, action="review_reply.published", actor=str(access.user_id),
        input_ref=f"review:{review.id}", refers_to=None,
        output={"edited": text != drafted},
    )  # fmt: skip
    return reviews.view(cipher, review, lenient=True)


# --- inbox and drafts -----------------------------------------------------------------------


@router.get(S + "/inbox", responses=_R)
async def list_threads(
    access: ViewerAccess,
    session: SessionDep,
    cipher: CipherDep,
    page: PageDep,
    unread: bool | None = None,
    assigned_to: uuid.UUID | None = None,
) -> Page[ThreadView]:
    """One thread per customer across channels, most recent first."""
    items, total = await threads.list_threads(
        session, cipher, access.station_id, unread=unread, assigned_to=assigned_to,
        limit=page.limit, offset=page.offset,
    )  # fmt: skip
    return Page[ThreadView](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(S + "/inbox/{thread_id}", responses=_R)
async def read_thread(
    thread_id: uuid.UUID, access: ViewerAccess, session: SessionDep, cipher: CipherDep
) -> ThreadDetail:
    """A thread with all its messages, oldest first."""
    thread = await threads.get_thread(session, access.station_id, thread_id)
    messages = await threads.messages_of(session, thread)
    unread = sum(1 for m in messages if m.direction == "in" and not m.is_read)
    return ThreadDetail(
        id=thread.id,
        customer_id=thread.customer_id,
        customer_name=await threads.customer_name(session, cipher, thread),
        assigned_user_id=thread.assigned_user_id,
        unread=unread,
        last_message_at=thread.last_message_at,
        last_text=texts.MESSAGE.read(cipher, messages[-1]) if messages else None,
        messages=[threads.message_view(cipher, m) for m in messages],
    )


@router.post(S + "/inbox/{thread_id}/read", status_code=204, responses=_R)
async def mark_thread_read(
    thread_id: uuid.UUID, access: StaffAccess, session: SessionDep, read: bool = True
) -> Response:
    """Mark every message of the thread read (``?read=false``: unread)."""
    await threads.mark_read(session, await threads.get_thread(session, access.station_id, thread_id), read)
    return Response(status_code=204)


@router.post(S + "/inbox/{thread_id}/assign", status_code=204, responses=_R)
async def assign_thread(
    thread_id: uuid.UUID, body: AssignIn, access: ManagerAccess, session: SessionDep
) -> Response:
    """Assign the thread to a member (or nobody)."""
    await threads.assign(
        session, await threads.get_thread(session, access.station_id, thread_id), body.user_id
    )
    return Response(status_code=204)


@router.post(S + "/inbox/{thread_id}/reply", status_code=201, responses=_R)
async def reply(
    thread_id: uuid.UUID,
    body: ReplyIn,
    access: StaffAccess,
    session: SessionDep,
    cipher: CipherDep,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> MessageView:
    """Reply in the thread; sent through the channel once stored. With an ``Idempotency-Key`` a
    reply sent again is the same reply, sent once (the key with another text: 409)."""
    thread = await threads.get_thread(session, access.station_id, thread_id)
    message = await threads.send_reply(
        session,
        runtime.db,
        runtime.settings,
        cipher,
        thread,
        body.text,
        user_id=access.user_id,
        channel=body.channel,
        idempotency_key=idempotency_key,
    )
    return threads.message_view(cipher, message)


@router.post(S + "/inbox/{thread_id}/lead", status_code=201, responses=_R)
async def lead_from_thread(
    thread_id: uuid.UUID, access: StaffAccess, session: SessionDep, cipher: CipherDep
) -> LeadView:
    """Turn a conversation into a lead (its customer's details and last message)."""
    thread = await threads.get_thread(session, access.station_id, thread_id)
    inbound = [m for m in await threads.messages_of(session, thread) if m.direction == "in"]
    text = texts.MESSAGE.read(cipher, inbound[-1]) if inbound else "(from the inbox)"
    lead = await leads.lead_from_thread(session, cipher, access.station_id, thread.customer_id, text)
    return leads.view(cipher, lead)


def _draft_view(d: Draft, text: str | None, message_text: str | None = None) -> DraftView:
    return DraftView(
        id=d.id, thread_id=d.thread_id, message_id=d.message_id, text=text, level=d.level, status=d.status,
        edited=d.edited, message_text=message_text, decided_by=d.decided_by, decided_at=d.decided_at,
        created_at=d.created_at,
    )  # fmt: skip


@router.get(S + "/drafts", responses=_R)
async def list_drafts(
    access: ViewerAccess,
    session: SessionDep,
    cipher: CipherDep,
    page: PageDep,
    status: Literal["pending", "approved", "rejected", "auto_sent"] | None = "pending",
) -> Page[DraftView]:
    """AI reply drafts (Level 2 waits here for a member), newest first."""
    rows, total = await threads.list_drafts(
        session, cipher, access.station_id, status=status, limit=page.limit, offset=page.offset
    )
    items = [_draft_view(d, text, message) for d, text, message in rows]
    return Page[DraftView](items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(S + "/drafts/{draft_id}/approve", responses=_W)
async def approve_draft(
    draft_id: uuid.UUID,
    body: DraftDecision,
    access: StaffAccess,
    session: SessionDep,
    cipher: CipherDep,
    runtime: RuntimeDep,
) -> DraftView:
    """Send the draft as is, or with ``text`` (edited); recorded in the audit trail."""
    draft = await threads.get_draft(session, access.station_id, draft_id)
    await threads.send_draft(
        session, runtime.db, runtime.settings, cipher, draft,
        actor=str(access.user_id), user_id=access.user_id, text=body.text,
    )  # fmt: skip
    # Sent: a draft replaced by the member's text and not opening shows null rather than undo it.
    return _draft_view(draft, texts.readable(True, texts.DRAFT.read, cipher, draft))


@router.post(S + "/drafts/{draft_id}/reject", responses=_W)
async def reject_draft(
    draft_id: uuid.UUID, access: StaffAccess, session: SessionDep, cipher: CipherDep
) -> DraftView:
    """Discard the draft (a member answers in their own words)."""
    draft = await threads.get_draft(session, access.station_id, draft_id)
    threads.reject_draft(session, draft, access.user_id)
    # A draft that does not open can still be rejected (its text null here).
    return _draft_view(draft, texts.readable(True, texts.DRAFT.read, cipher, draft))


# --- AI usage, alerts, audit ----------------------------------------------------------------


@router.get(S + "/ai/usage", responses=_R)
async def ai_usage(access: ManagerAccess, session: SessionDep) -> UsageView:
    """This month's AI spend against the station's budget."""
    month = ai.month_of(utcnow())
    cost, requests = await ai.spent(session, access.station_id, month)
    budget = access.station.ai_monthly_budget_usd
    return UsageView(
        month=month, cost_usd=round(cost, 6), requests=requests, budget_usd=budget,
        remaining_usd=round(max(0.0, budget - cost), 6), over_budget=cost >= budget,
    )  # fmt: skip


@router.get(S + "/alerts", responses=_R)
async def list_alerts(access: OwnerAccess, session: SessionDep, page: PageDep) -> Page[AlertView]:
    """Alerts for the station's owners (AI budget exhausted), newest first."""
    where = Alert.station_id == access.station_id
    total = await session.scalar(select(func.count()).select_from(Alert).where(where))
    rows = await session.scalars(
        select(Alert).where(where).order_by(Alert.created_at.desc()).limit(page.limit).offset(page.offset)
    )
    items = [AlertView(id=a.id, kind=a.kind, message=a.message, created_at=a.created_at) for a in rows]
    return Page[AlertView](items=items, total=int(total or 0), limit=page.limit, offset=page.offset)


async def _audit_views(
    session: AsyncSession, cipher: PIICipher, rows: Iterable[AuditEntry]
) -> list[AuditView]:
    """Audit rows for the list and the export: a text that does not open is null there, and marked
    ``text_erased`` when its customer's key is gone (one query for the keys of the rows' customers)."""
    entries = list(rows)
    named = {c for a in entries if (c := texts.sealed_for(a.output)) is not None}
    keys = await customer_keys.opening_ciphers(session, cipher, named)
    views = []
    for a in entries:
        output = texts.open_output(cipher, a.station_id, a.id, a.output, customers=keys, lenient=True)
        owner = texts.sealed_for(a.output)
        views.append(AuditView(
            id=a.id, action=a.action, actor=a.actor, input_ref=a.input_ref, output=output,
            provider=a.provider, model=a.model, input_tokens=a.input_tokens, output_tokens=a.output_tokens,
            cost_usd=a.cost_usd, level=a.level, refers_to=a.refers_to, created_at=a.created_at,
            text_erased=owner is not None and owner not in keys,
        ))  # fmt: skip
    return views


@router.get(S + "/audit", responses=_R)
async def list_audit(
    access: OwnerAccess,
    session: SessionDep,
    cipher: CipherDep,
    page: PageDep,
    action: Annotated[str | None, Query(max_length=32)] = None,
    sort: Literal["created_at", "-created_at"] = "-created_at",
) -> Page[AuditView]:
    """Every AI interaction and decision on its output (owners)."""
    where = [AuditEntry.station_id == access.station_id]
    if action:
        where.append(AuditEntry.action == action)
    order = AuditEntry.created_at.desc() if sort == "-created_at" else AuditEntry.created_at.asc()
    total = await session.scalar(select(func.count()).select_from(AuditEntry).where(*where))
    rows = await session.scalars(
        select(AuditEntry).where(*where).order_by(order, AuditEntry.id).limit(page.limit).offset(page.offset)
    )
    return Page[AuditView](
        items=await _audit_views(session, cipher, rows),
        total=int(total or 0),
        limit=page.limit,
        offset=page.offset,
    )


EXPORT_COLUMNS = (
    "id", "created_at", "action", "actor", "input_ref", "provider", "model",
    "input_tokens", "output_tokens", "cost_usd", "level", "refers_to", "output", "text_erased",
)  # fmt: skip


@router.get(S + "/audit/export", responses=_R, response_class=Response)
async def export_audit(access: OwnerAccess, session: SessionDep, cipher: CipherDep) -> Response:
    """The whole audit trail as CSV, oldest first (owners)."""
    rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.station_id == access.station_id).order_by(AuditEntry.created_at)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for entry in await _audit_views(session, cipher, rows):
        view = entry.model_dump(mode="json")
        writer.writerow([view[c] if c != "output" else json.dumps(view[c]) for c in EXPORT_COLUMNS])
    headers = {"content-disposition": f'attachment; filename="ops-audit-{access.station.slug}.csv"'}
    return Response(out.getvalue(), media_type="text/csv", headers=headers)
