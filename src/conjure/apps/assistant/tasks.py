"""The ``assistant.answer`` job: wait for its turn, gather context, stream the answer, store it once.

Per conversation, answers are written one at a time in the order the messages were sent: a
message's job waits while an earlier message of the same conversation is still being answered
(so it sees that answer in its history and the two never interleave). The answer is stored by
:func:`save_answer` in the engine's finishing transaction (with the capture of a priced
message's hold); a duplicate delivery cannot store it twice (the claim guards the finish, and
``reply_to`` is unique). ``message.completed`` goes to the user's stream once that commits.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.assistant.delegation import Offer
from conjure.apps.assistant.embeddings import EmbeddingError
from conjure.apps.assistant.extraction import extract
from conjure.apps.assistant.following import follow_child
from conjure.apps.assistant.memory import recall, remember
from conjure.apps.assistant.models import Conversation, Message, Role
from conjure.apps.assistant.phrases import language_of, say
from conjure.apps.assistant.responders import ChatRequest, Turn
from conjure.apps.assistant.routing import responder_for
from conjure.apps.assistant.settings import AssistantSettings
from conjure.apps.assistant.streaming import COMPLETED_STEP, DeltaWriter
from conjure.db import utcnow
from conjure.events.schemas import MESSAGE_COMPLETED
from conjure.events.types import NewEvent
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.registry import JobContext, PermanentJobError, RetryableJobError

if TYPE_CHECKING:
    from conjure.db import Database

ANSWER = "assistant.answer"  # within the day's free messages
ANSWER_PAID = "assistant.answer_paid"  # past them: holds ASSISTANT_MESSAGE_PRICE_STARS
REMEMBER = "assistant.remember"  # extract durable facts from a message into the memory
TURN_POLL_SECONDS = 0.05
_ANSWER_IDS = uuid.UUID("5d3f0c2e-2b6e-4a53-9d53-6b1f0a0c7a11")
log = structlog.get_logger("conjure.apps.assistant.tasks")


def answer_id_for(message_id: uuid.UUID) -> uuid.UUID:
    """The id the answer to ``message_id`` has, the same on every attempt (deltas name it)."""
    return uuid.uuid5(_ANSWER_IDS, str(message_id))


def _ids(ctx: JobContext) -> tuple[uuid.UUID, uuid.UUID]:
    try:
        return uuid.UUID(str(ctx.payload["conversation_id"])), uuid.UUID(str(ctx.payload["message_id"]))
    except (KeyError, ValueError):
        raise PermanentJobError("invalid_payload", "The job does not name a message.") from None


async def _load(db: Database, user_id: uuid.UUID | None, message_id: uuid.UUID) -> Message:
    async with db.session() as session:
        return await _message(session, user_id, message_id)


async def _message(session: AsyncSession, user_id: uuid.UUID | None, message_id: uuid.UUID) -> Message:
    message = await session.scalar(
        select(Message).where(Message.id == message_id, Message.user_id == user_id)
    )
    if message is None:
        raise PermanentJobError("message_deleted", "The message was deleted before it was answered.")
    return message


async def _pending_before(session: AsyncSession, message: Message) -> bool:
    found = await session.scalar(
        select(Message.id)
        .join(Job, Job.id == Message.job_id)
        .where(
            Message.conversation_id == message.conversation_id,
            Message.position < message.position,
            Job.status.in_((JobStatus.QUEUED, JobStatus.PROCESSING)),
        )
        .limit(1)
    )
    return found is not None


async def _earlier_pending(db: Database, message: Message) -> bool:
    async with db.session() as session:
        return await _pending_before(session, message)


async def wait_turn(ctx: JobContext, message: Message) -> None:
    """Return once no earlier message of the conversation is still being answered."""
    told = False
    while await _earlier_pending(ctx.db, message):
        if not told:
            waiting = say(language_of(ctx.payload.get("language")), "waiting")
            await ctx.progress("waiting", message=waiting)
            told = True
        await asyncio.sleep(TURN_POLL_SECONDS)


async def _history(session: AsyncSession, message: Message, limit: int) -> list[Turn]:
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == message.conversation_id, Message.position < message.position)
        .order_by(Message.position.desc(), Message.reply_to.is_not(None).desc())
        .limit(max(limit - 1, 0))
    )
    earlier = list(reversed(rows.all()))
    return [Turn(m.role, m.content) for m in earlier] + [Turn(Role.USER, message.content)]


async def history_of(db: Database, message: Message, limit: int) -> list[Turn]:
    """The conversation up to and including ``message``: its last ``limit`` turns, oldest first."""
    async with db.session() as session:
        return await _history(session, message, limit)


async def _recall(ctx: JobContext, content: str) -> list[str]:
    """The memories relevant to the message; none (and a log line) when embedding fails."""
    if ctx.user_id is None:
        return []
    try:
        async with ctx.db.session() as session:
            found = await recall(session, ctx.settings, ctx.user_id, content)
    except EmbeddingError as exc:
        log.warning("memory_recall_failed", error=str(exc))
        return []
    return [item.hit.content for item in found]


_UNFINISHED: set[asyncio.Task[list[str]]] = set()  # recalls no answer waits for, left to finish


def _let_finish(recalling: asyncio.Task[list[str]]) -> None:
    """Keep a recall nobody waits for until it ends (canceling it mid-query could spoil its
    connection), and log what it raised."""
    _UNFINISHED.add(recalling)
    recalling.add_done_callback(_finished)


def _finished(task: asyncio.Task[list[str]]) -> None:
    _UNFINISHED.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("memory_recall_failed_late", error=str(task.exception()))


async def recall_within(
    ctx: JobContext, recalling: asyncio.Task[list[str]], deadline: float
) -> list[str] | None:
    """The recall's memories if it ends by ``deadline`` (``time.perf_counter()``); None (skipped)
    if not: the answer goes on without memories rather than start late."""
    done, _ = await asyncio.wait({recalling}, timeout=max(deadline - time.perf_counter(), 0.0))
    if done:
        return recalling.result()
    _let_finish(recalling)
    log.warning("memory_recall_skipped", job_id=str(ctx.job_id))
    return None


@dataclass
class Context:
    """What an answer is written from."""

    message: Message
    history: list[Turn]
    memories: list[str] | None  # None: skipped, the recall was past ASSISTANT_MEMORY_BUDGET_MS
    memory_ms: float


async def context_for(ctx: JobContext, message_id: uuid.UUID, settings: AssistantSettings) -> Context:
    """The message, its history once its turn has come, and its memories.

    Nearly always no earlier message of the conversation is pending: then one session reads the
    message, checks that and reads the history (three reads, one connection), while the memories
    are recalled alongside; the model is not kept waiting for them past the budget. Else
    :func:`wait_turn` first, and the memories are recalled after it (the earlier message's facts
    may be remembered by then)."""
    limit, budget = settings.assistant_history_messages, settings.assistant_memory_budget_ms / 1000
    async with ctx.db.session() as session:
        message = await _message(session, ctx.user_id, message_id)
        started = time.perf_counter()
        recalling = asyncio.create_task(_recall(ctx, message.content))
        try:
            pending = await _pending_before(session, message)
            history = None if pending else await _history(session, message, limit)
        except BaseException:
            _let_finish(recalling)
            raise
    if history is None:
        _let_finish(recalling)
        await wait_turn(ctx, message)
        history = await history_of(ctx.db, message, limit)
        started = time.perf_counter()
        recalling = asyncio.create_task(_recall(ctx, message.content))
    memories = await recall_within(ctx, recalling, started + budget)
    return Context(message, history, memories, (time.perf_counter() - started) * 1000)


async def remember_message(ctx: JobContext) -> dict[str, Any]:
    """Store what a message says about its writer (the ``assistant.remember`` job).

    The facts come from the model when one is configured (else the patterns), asked outside any
    transaction; the result names no fact (personal data stays in the memory table)."""
    try:
        message_id = uuid.UUID(str(ctx.payload["message_id"]))
    except (KeyError, ValueError):
        raise PermanentJobError("invalid_payload", "The job does not name a message.") from None
    message = await _load(ctx.db, ctx.user_id, message_id)
    found = await extract(ctx.settings, message.content)
    if found.answer is not None:
        found.answer.record_on(ctx, "extract")
    try:
        async with ctx.db.session() as session:
            done = await remember(session, ctx.settings, message.user_id, found.facts, message.id)
    except EmbeddingError as exc:
        raise RetryableJobError("embeddings_unavailable", str(exc)) from exc
    return {
        "extracted_by": found.source,
        "facts": len(found.facts),
        "stored": len(done.stored),
        "memory_ids": [str(m.id) for m in done.stored],
        "replaced": [str(i) for i in done.replaced],
    }


async def answer_message(ctx: JobContext) -> dict[str, Any]:
    """Answer one message, streaming its text as ``message.delta`` events."""
    conversation_id, message_id = _ids(ctx)
    settings = ctx.settings.for_app(AssistantSettings)
    context = await context_for(ctx, message_id, settings)
    message, memories = context.message, context.memories
    language = language_of(ctx.payload.get("language"))  # the page's; English when none was sent
    request = ChatRequest(
        history=context.history,
        memories=memories or [],
        max_tokens=settings.assistant_max_answer_tokens,
        language=language,
    )
    answer_id = answer_id_for(message_id)
    writer = DeltaWriter(
        ctx,
        conversation_id=conversation_id,
        message_id=answer_id,
        flush_ms=settings.assistant_stream_flush_ms,
        store_ms=settings.assistant_job_stream_flush_ms,
        flush_max_ms=settings.assistant_stream_flush_max_ms,
    )
    extra = dict(message.extra or {})
    try:
        if "delegated" in extra:
            wait = max(settings.assistant_answer_timeout_seconds - 5.0, 1.0)
            answer = await follow_child(ctx, writer, extra["delegated"], wait, language)
        else:
            answer = await responder_for(ctx.settings).answer(request, writer.add)
            if "offer" in extra:
                # The price and the question, whatever the model said: nothing is done without a yes.
                question = "\n\n" + Offer.from_dict(extra["offer"]).question(language)
                await writer.add(question)
                answer.text += question
        await writer.finish()
    except BaseException:
        writer.abandon()
        raise
    answer.record_on(ctx, "answer")
    completed: dict[str, Any] = {
        "conversation_id": str(conversation_id),
        "message_id": str(answer_id),
        "reply_to": str(message_id),
        "text": answer.text,
        "model": answer.model,
        "route": answer.route,
        "input_tokens": answer.input_tokens,
        "output_tokens": answer.output_tokens,
        "cost_usd": answer.cost_usd,
        "first_delta_ms": writer.first_delta_ms,
        "deltas": writer.index,
        "tool": {**{k: v for k, v in extra.items() if k in ("offer", "delegated")}, **answer.extra} or None,
        "memories_used": len(memories or []),
        "memories_skipped": memories is None,
        "memory_ms": round(context.memory_ms, 2),
    }
    await ctx.progress(COMPLETED_STEP, data=completed)
    return completed


async def save_answer(session: AsyncSession, job: Job, result: dict[str, Any]) -> Sequence[NewEvent]:
    """Store the answer (in the job's finishing transaction); ``message.completed`` once it commits."""
    answer_id, reply_to = uuid.UUID(result["message_id"]), uuid.UUID(result["reply_to"])
    asked = await session.scalar(select(Message).where(Message.id == reply_to))
    if asked is None or job.user_id is None:
        log.warning("answered_message_deleted", job_id=str(job.id))
        return []
    if await session.scalar(select(Message.id).where(Message.reply_to == reply_to)) is not None:
        return []  # stored already
    conversation = await session.scalar(
        select(Conversation).where(Conversation.id == asked.conversation_id).with_for_update()
    )
    if conversation is None:
        return []
    now = utcnow()
    session.add(
        Message(
            id=answer_id,
            conversation_id=conversation.id,
            user_id=job.user_id,
            role=Role.ASSISTANT,
            position=asked.position,
            content=result["text"],
            job_id=job.id,
            reply_to=reply_to,
            model=result["model"],
            route=result["route"],
            input_tokens=int(result.get("input_tokens") or 0),
            output_tokens=int(result.get("output_tokens") or 0),
            cost_usd=float(result.get("cost_usd") or 0.0),
            extra=result.get("tool"),
            created_at=now,
        )
    )
    conversation.message_count += 1
    conversation.updated_at = now
    await session.flush()
    data = {**result, "job_id": str(job.id), "price_stars": job.price_stars}
    return [NewEvent(job.user_id, MESSAGE_COMPLETED, data)]
