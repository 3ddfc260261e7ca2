"""Assistant rules: conversations, posting a message (its answer queued as a job), reading them.

Errors: 404 ``not_found`` for another user's conversation, 404 ``photo_not_found`` for a photo
key that is not one of the sender's uploads (or was never uploaded), 409 ``answers_pending`` when a
conversation already has ``ASSISTANT_MAX_PENDING_MESSAGES`` unanswered messages, 422
``message_too_long`` over ``ASSISTANT_MAX_MESSAGE_CHARS``, 402 ``insufficient_stars`` past the
day's free messages.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.assistant.delegation import DELEGABLE, Offer, detect_offer, says_yes
from conjure.apps.assistant.extraction import might_hold_facts
from conjure.apps.assistant.models import Conversation, Message, Role
from conjure.apps.assistant.phrases import DEFAULT_LANGUAGE, Language
from conjure.apps.assistant.settings import AssistantSettings
from conjure.apps.assistant.tasks import ANSWER, ANSWER_PAID, REMEMBER, answer_id_for
from conjure.billing.plans import PlanCache
from conjure.db import new_id, utcnow
from conjure.errors import Conflict, ConjureError, NotFound
from conjure.jobs.lanes import Priority
from conjure.jobs.models import Job, JobStatus
from conjure.kit.submit import SubmitOptions, submit_in
from conjure.storage.base import owns_upload

if TYPE_CHECKING:
    from conjure.runtime import Runtime

PENDING = (JobStatus.QUEUED, JobStatus.PROCESSING)
TITLE_CHARS = 60


class AnswersPending(Conflict):
    code = "answers_pending"


class MessageTooLong(ConjureError):
    code, status = "message_too_long", 422


class PhotoNotFound(NotFound):
    code = "photo_not_found"


async def check_photo(runtime: Runtime, user_id: uuid.UUID, key: str) -> None:
    """404 unless ``key`` is one of the sender's uploads and the photo is there."""
    if not owns_upload(user_id, key):
        raise PhotoNotFound("No such photo.")
    if not await runtime.storage.exists(key):
        raise PhotoNotFound("Nothing was uploaded under this key; upload the photo first.")


async def create_conversation(session: AsyncSession, user_id: uuid.UUID, title: str | None) -> Conversation:
    conversation = Conversation(user_id=user_id, title=title or "", message_count=0)
    session.add(conversation)
    await session.flush()
    return conversation


async def get_conversation(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID, *, lock: bool = False
) -> Conversation:
    """The caller's conversation; another user's is "not found"."""
    query = select(Conversation).where(Conversation.id == conversation_id, Conversation.user_id == user_id)
    if lock:
        query = query.with_for_update()
    conversation = await session.scalar(query)
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


async def list_conversations(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[Sequence[Conversation], int]:
    """The caller's conversations, most recently active first."""
    total = await session.scalar(select(func.count()).where(Conversation.user_id == user_id))
    rows = await session.scalars(
        select(Conversation)
        .where(Conversation.user_id == user_id)
        .order_by(Conversation.updated_at.desc(), Conversation.id)
        .limit(limit)
        .offset(offset)
    )
    return rows.all(), int(total or 0)


async def rename_conversation(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID, title: str
) -> Conversation:
    conversation = await get_conversation(session, user_id, conversation_id, lock=True)
    conversation.title = title
    conversation.updated_at = utcnow()
    await session.flush()
    return conversation


async def delete_conversation(
    session: AsyncSession, runtime: Runtime, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> None:
    """Delete a conversation and its messages; answers still queued are canceled (holds released)."""
    from conjure.jobs.service import end_queued_job

    conversation = await get_conversation(session, user_id, conversation_id, lock=True)
    queued = await session.scalars(
        select(Job)
        .join(Message, Message.job_id == Job.id)
        .where(Message.conversation_id == conversation.id, Job.status == JobStatus.QUEUED)
    )
    for job in queued.all():
        await end_queued_job(
            session, runtime, job, status=JobStatus.CANCELED, code="canceled", message="Conversation deleted."
        )
    await session.execute(delete(Message).where(Message.conversation_id == conversation.id))
    await session.delete(conversation)


@dataclass(frozen=True)
class Tallies:
    """What a new message is checked against, read in one statement under the conversation's lock."""

    pending: int  # the conversation's messages still queued or being answered
    today: int  # the sender's messages since midnight UTC (the daily allowance counts these)
    previous_id: uuid.UUID | None  # the sender's previous message in the conversation
    previous_extra: dict[str, Any] | None  # ... and what it carries (a pending offer?)

    @property
    def offer(self) -> dict[str, Any]:
        """The previous message's offer, if it is still waiting for a yes or no."""
        offer = dict((self.previous_extra or {}).get("offer") or {})
        return offer if offer.get("status") == "pending" else {}


async def tallies(session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID) -> Tallies:
    """The counts and the previous message a new one needs, in one round trip (three scalar
    subqueries: a POST's statements were most of its CPU, and 50 of them share one event loop)."""
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    pending = (
        select(func.count())
        .select_from(Message)
        .join(Job, Job.id == Message.job_id)
        .where(Message.conversation_id == conversation_id, Job.status.in_(PENDING))
        .scalar_subquery()
    )
    today = (
        select(func.count())
        .select_from(Message)
        .where(Message.user_id == user_id, Message.role == Role.USER, Message.created_at >= midnight)
        .scalar_subquery()
    )
    latest = (
        select(Message.id)
        .where(Message.conversation_id == conversation_id, Message.role == Role.USER)
        .order_by(Message.position.desc())
        .limit(1)
        .scalar_subquery()
    )
    extra = select(Message.extra).where(Message.id == latest).scalar_subquery()
    row = (await session.execute(select(pending, today, latest, extra))).one()
    return Tallies(int(row[0] or 0), int(row[1] or 0), row[2], row[3])


async def _replayed(
    session: AsyncSession, user_id: uuid.UUID, options: SubmitOptions
) -> tuple[Message, Job] | None:
    """The message an ``Idempotency-Key`` already posted, if any (a retried POST gets it back)."""
    if options.idempotency_key is None:
        return None
    row = (
        await session.execute(
            select(Message, Job)
            .join(Job, Job.id == Message.job_id)
            .where(
                Job.user_id == user_id,
                Job.idempotency_key == options.idempotency_key,
                Job.kind.in_((ANSWER, ANSWER_PAID)),
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


async def daily_allowance(session: AsyncSession, runtime: Runtime, user_id: uuid.UUID) -> int:
    """Free messages a day: ``ASSISTANT_DAILY_MESSAGES``, raised by a paid plan's
    ``assistant_daily_messages`` (``SUBSCRIPTION_PLANS``) while the plan is in effect.

    The plan is read through the process's plan cache (``PLAN_CACHE_SECONDS``), the one the
    job's class is read from: the submit that follows then costs no second read."""
    base = runtime.settings.for_app(AssistantSettings).assistant_daily_messages
    if runtime.plan_cache is None:
        runtime.plan_cache = PlanCache(runtime.settings)
    plan = await runtime.plan_cache.limits(session, user_id)
    raised = plan.get("assistant_daily_messages") if plan.paid else None
    return max(base, raised) if isinstance(raised, int) else base


async def post_message(
    session: AsyncSession,
    runtime: Runtime,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    content: str,
    options: SubmitOptions,
    webhook_url: str | None = None,
    photo_key: str | None = None,
    language: Language = DEFAULT_LANGUAGE,
) -> tuple[Message, Job]:
    """Store the person's message (and the photo it carries) and queue its answer (both commit
    together).

    Within the day's free messages the answer is free, after them it holds
    ``ASSISTANT_MESSAGE_PRICE_STARS`` (charged when the answer is stored). ``language`` (what the
    person reads) goes in the answer job's payload: the assistant's own sentences are written in it.
    """
    settings = runtime.settings.for_app(AssistantSettings)
    if len(content) > settings.assistant_max_message_chars:
        raise MessageTooLong(f"A message may be at most {settings.assistant_max_message_chars} characters.")
    conversation = await get_conversation(session, user_id, conversation_id, lock=True)
    if (replayed := await _replayed(session, user_id, options)) is not None:
        return replayed
    if photo_key is not None:
        await check_photo(runtime, user_id, photo_key)
    counted = await tallies(session, user_id, conversation.id)
    if counted.pending >= settings.assistant_max_pending_messages:
        raise AnswersPending("Wait for the answers to your last messages before sending more.")
    free = counted.today < await daily_allowance(session, runtime, user_id)
    now = utcnow()
    # The message is inserted once, whole (its job and what it carries known first): no UPDATE after.
    message = Message(
        id=new_id(),
        conversation_id=conversation.id,
        user_id=user_id,
        role=Role.USER,
        position=conversation.message_count,
        content=content,
        input_tokens=0,
        output_tokens=0,
        cost_usd=0.0,
        created_at=now,
    )
    conversation.message_count += 1
    conversation.updated_at = now
    if not conversation.title:
        conversation.title = content if len(content) <= TITLE_CHARS else content[: TITLE_CHARS - 1] + "…"
    job = await submit_in(
        session,
        runtime,
        options,
        user_id=user_id,
        kind=ANSWER if free else ANSWER_PAID,
        payload={
            "conversation_id": str(conversation.id),
            "message_id": str(message.id),
            "language": language,
        },
        webhook_url=webhook_url,
    )
    message.job_id = job.id
    photo = {"photo": {"key": photo_key}} if photo_key is not None else {}
    delegation = await _delegation(session, runtime, counted, message, job, photo_key)
    message.extra = {**photo, **delegation} or None
    session.add(message)
    if might_hold_facts(content):
        # Free and independent of the answer: no Idempotency-Key (the answer's own replays it);
        # background work, so answers (NORMAL) are dispatched before it under load.
        await submit_in(
            session,
            runtime,
            SubmitOptions(trace_id=options.trace_id, priority=Priority.BATCH),
            user_id=user_id,
            kind=REMEMBER,
            payload={"message_id": str(message.id)},
        )
    await session.flush()
    return message, job


async def _delegation(
    session: AsyncSession,
    runtime: Runtime,
    counted: Tallies,
    message: Message,
    job: Job,
    photo_key: str | None,
) -> dict[str, Any]:
    """A yes to the previous message's offer submits that app's job as a child of this answer's
    job (its price held now, charged once if it succeeds); otherwise the offer lapses, and this
    message may call for a new offer (staging its photo's room, when it carries one). The previous
    message is loaded only when its offer is pending (rarely)."""
    from conjure.jobs.service import submit_job

    pending = counted.offer
    if pending and counted.previous_id is not None:
        previous = await session.get(Message, counted.previous_id)
        accepted = says_yes(message.content)
        if previous is not None:
            previous.extra = {
                **(previous.extra or {}),
                "offer": {**pending, "status": "accepted" if accepted else "lapsed"},
            }
        if accepted:
            offer = Offer.from_dict(pending)
            child = await submit_job(
                session,
                runtime,
                user_id=message.user_id,
                kind=offer.kind,
                payload=offer.payload,
                parent_job_id=job.id,
            )
            return {"delegated": {**offer.as_dict(), "job_id": str(child.id)}}
    prices = {
        name: kind.price_for(runtime.settings)
        for name, kind in runtime.registry.kinds.items()
        if name in DELEGABLE
    }
    proposed = detect_offer(message.content, prices, photo_key)
    return {"offer": {**proposed.as_dict(), "status": "pending"}} if proposed is not None else {}


async def list_messages(
    session: AsyncSession, user_id: uuid.UUID, conversation_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[tuple[Message, Job | None]], int]:
    """A conversation's messages in order (each person's message before its answer)."""
    conversation = await get_conversation(session, user_id, conversation_id)
    total = await session.scalar(select(func.count()).where(Message.conversation_id == conversation.id))
    rows = await session.execute(
        select(Message, Job)
        .outerjoin(Job, Job.id == Message.job_id)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.position, Message.reply_to.is_not(None), Message.created_at)
        .limit(limit)
        .offset(offset)
    )
    return [(message, job) for message, job in rows.all()], int(total or 0)


async def latest_messages(
    session: AsyncSession, conversation: Conversation, count: int = 50
) -> list[tuple[Message, Job | None]]:
    """The conversation's last ``count`` messages, oldest first."""
    rows = await session.execute(
        select(Message, Job)
        .outerjoin(Job, Job.id == Message.job_id)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.position.desc(), Message.reply_to.is_not(None).desc(), Message.created_at.desc())
        .limit(count)
    )
    return [(message, job) for message, job in reversed(rows.all())]


def message_status(message: Message, job: Job | None) -> str:
    """A person's message reads as its answer's state; an answer is ``complete``."""
    if message.role == Role.ASSISTANT:
        return "complete"
    status = job.status if job is not None else JobStatus.SUCCEEDED
    return {
        JobStatus.QUEUED: "queued",
        JobStatus.PROCESSING: "answering",
        JobStatus.SUCCEEDED: "answered",
        JobStatus.CANCELED: "canceled",
    }.get(JobStatus(status), "failed")


def answer_of(message: Message) -> uuid.UUID | None:
    return answer_id_for(message.id) if message.role == Role.USER else None


def midnight_after(now: dt.datetime) -> dt.datetime:
    """When the day's free messages start again (midnight UTC)."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
