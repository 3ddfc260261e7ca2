"""Assistant HTTP routes (seed 002): ``/api/v1/assistant/conversations[/{id}[/messages]]``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response

from conjure.apps.assistant import meditations, memory, service
from conjure.apps.assistant.phrases import language_of
from conjure.apps.assistant.schemas import (
    ConversationCreate,
    ConversationDetail,
    ConversationPage,
    ConversationUpdate,
    ConversationView,
    MeditationAccepted,
    MeditationCreate,
    MeditationView,
    MemoryPage,
    MemoryView,
    MessageAccepted,
    MessageCreate,
    MessagePage,
)
from conjure.apps.assistant.settings import AssistantSettings
from conjure.apps.assistant.views import conversation_view, message_views
from conjure.auth.deps import CurrentPrincipal
from conjure.deps import RuntimeDep, SessionDep
from conjure.jobs.models import Job
from conjure.kit.paging import PageDep
from conjure.kit.problems import problems
from conjure.kit.submit import JobOptions
from conjure.ratelimit.policy import outage_policy

router = APIRouter(prefix="/api/v1/assistant", tags=["assistant"])

_AUTH = problems(401, 422)
_NOT_FOUND = problems(401, 404, 422, describe={404: "No such conversation (another user's included)"})
_POST = problems(
    401,
    402,
    404,
    409,
    422,
    429,
    describe={
        402: "Past today's free messages and not enough stars (`insufficient_stars`)",
        404: "No such conversation, or the photo is not one of the caller's uploads (`photo_not_found`)",
        409: "Earlier messages are still being answered (`answers_pending`), or an Idempotency-Key reused",
        422: "Empty or too long (`validation_error`, `message_too_long`)",
        429: "Too many messages (`rate_limited`, ASSISTANT_MESSAGES_RATE_LIMIT)",
    },
)


async def limit_messages(
    principal: CurrentPrincipal, request: Request, response: Response, runtime: RuntimeDep
) -> None:
    """ASSISTANT_MESSAGES_RATE_LIMIT per person."""
    spec = runtime.settings.for_app(AssistantSettings).assistant_messages_rate_limit
    state = await runtime.limiter.hit(
        "assistant-messages", principal.rate_key, spec, on_outage=outage_policy(request)
    )
    if state is not None:
        response.headers.update(state.headers())


@router.post("/conversations", status_code=201, responses=_AUTH)
async def create_conversation(
    body: ConversationCreate, principal: CurrentPrincipal, session: SessionDep
) -> ConversationView:
    """A new, empty conversation."""
    conversation = await service.create_conversation(session, principal.user_id, body.title)
    return conversation_view(conversation)


@router.get("/conversations", responses=_AUTH)
async def list_conversations(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep
) -> ConversationPage:
    """The caller's conversations, most recently active first."""
    rows, total = await service.list_conversations(
        session, principal.user_id, limit=page.limit, offset=page.offset
    )
    items = [conversation_view(row) for row in rows]
    return ConversationPage(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/conversations/{conversation_id}", responses=_NOT_FOUND)
async def read_conversation(
    conversation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> ConversationDetail:
    """A conversation with its latest messages."""
    conversation = await service.get_conversation(session, principal.user_id, conversation_id)
    messages = await message_views(runtime, await service.latest_messages(session, conversation))
    return ConversationDetail(**conversation_view(conversation).model_dump(), messages=messages)


@router.patch("/conversations/{conversation_id}", responses=_NOT_FOUND)
async def update_conversation(
    conversation_id: uuid.UUID, body: ConversationUpdate, principal: CurrentPrincipal, session: SessionDep
) -> ConversationView:
    """Rename a conversation."""
    conversation = await service.rename_conversation(session, principal.user_id, conversation_id, body.title)
    return conversation_view(conversation)


@router.delete("/conversations/{conversation_id}", status_code=204, responses=_NOT_FOUND)
async def delete_conversation(
    conversation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Delete a conversation and its messages (answers not started are canceled)."""
    await service.delete_conversation(session, runtime, principal.user_id, conversation_id)
    return Response(status_code=204)


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=202,
    responses=_POST,
    dependencies=[Depends(limit_messages)],
)
async def post_message(
    conversation_id: uuid.UUID,
    body: MessageCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
    options: JobOptions,
) -> MessageAccepted:
    """Send a message; the answer streams as `message.delta` events, then `message.completed`."""
    message, job = await service.post_message(
        session,
        runtime,
        principal.user_id,
        conversation_id,
        body.content,
        options,
        body.webhook,
        photo_key=body.photo_key,
        language=body.language,
    )
    return MessageAccepted(
        message_id=message.id,
        answer_id=service.answer_of(message) or message.id,
        job_id=job.id,
        status=service.message_status(message, job),
        priced=job.price_stars > 0,
    )


@router.get("/conversations/{conversation_id}/messages", responses=_NOT_FOUND)
async def list_messages(
    conversation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
    page: PageDep,
) -> MessagePage:
    """A conversation's stored messages, oldest first (each message before its answer)."""
    rows, total = await service.list_messages(
        session, principal.user_id, conversation_id, limit=page.limit, offset=page.offset
    )
    items = await message_views(runtime, rows)
    return MessagePage(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/memories", responses=_AUTH)
async def list_memories(principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> MemoryPage:
    """What the assistant remembers about the caller, newest first."""
    rows, total = await memory.list_memories(session, principal.user_id, limit=page.limit, offset=page.offset)
    items = [
        MemoryView(id=m.id, content=m.content, category=m.category, created_at=m.created_at) for m in rows
    ]
    return MemoryPage(items=items, total=total, limit=page.limit, offset=page.offset)


@router.delete(
    "/memories/{memory_id}",
    status_code=204,
    responses=problems(401, 404, 422, describe={404: "No such memory (another user's included)"}),
)
async def delete_memory(
    memory_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Forget one memory: it is never used again from this answer on."""
    await memory.forget(session, runtime.settings, principal.user_id, memory_id)
    return Response(status_code=204)


_MEDITATION_STATUS = {
    "queued": "queued",
    "processing": "processing",
    "succeeded": "ready",
    "canceled": "canceled",
}


def _script(job: Job | None) -> list[str] | None:
    """The words a ready meditation speaks (its job's result; none for an older result)."""
    script = (job.result or {}).get("script") if job is not None else None
    return [str(line) for line in script] if isinstance(script, list) else None


@router.post(
    "/meditations",
    status_code=202,
    responses=problems(401, 402, 409, 422, describe={402: "Not enough stars for a meditation"}),
)
async def create_meditation(
    body: MeditationCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
    options: JobOptions,
) -> MeditationAccepted:
    """A guided meditation of 3-20 minutes on a theme; follow its job for progress per segment."""
    meditation, job = await meditations.create_meditation(
        session,
        runtime,
        principal.user_id,
        theme=body.theme,
        minutes=body.minutes,
        voice=body.voice,
        options=options,
        language=body.language,
    )
    return MeditationAccepted(meditation_id=meditation.id, job_id=job.id, status=job.status)


@router.get("/meditations/{meditation_id}", responses=problems(401, 404, 422))
async def read_meditation(
    meditation_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, runtime: RuntimeDep
) -> MeditationView:
    """A meditation's state; once ready, a signed link to its audio and its duration."""
    meditation, job = await meditations.get_meditation(session, principal.user_id, meditation_id)
    status = _MEDITATION_STATUS.get(job.status if job else "succeeded", "failed")
    url = None
    if meditation.audio_key:
        ttl = runtime.settings.storage_presign_ttl_seconds
        url = await runtime.storage.presigned_get_url(meditation.audio_key, expires_seconds=ttl)
    return MeditationView(
        id=meditation.id,
        theme=meditation.theme,
        minutes=meditation.minutes,
        status=status,
        progress=job.progress if job is not None and status == "processing" else None,
        audio_url=url,
        duration_seconds=meditation.duration_seconds,
        language=language_of(job.payload.get("language") if job is not None else None),
        script=_script(job) if meditation.audio_key else None,
        job_id=meditation.job_id,
        created_at=meditation.created_at,
    )
