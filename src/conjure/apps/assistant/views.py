"""Rows to response shapes (with fresh signed links to a message's photo and a delegated image)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from conjure.apps.assistant import service
from conjure.apps.assistant.models import Conversation, Message
from conjure.apps.assistant.schemas import ConversationView, MessageView
from conjure.jobs.models import Job

if TYPE_CHECKING:
    from conjure.runtime import Runtime


def conversation_view(conversation: Conversation) -> ConversationView:
    return ConversationView(
        id=conversation.id,
        title=conversation.title,
        message_count=conversation.message_count,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
    )


def message_view(
    message: Message, job: Job | None, *, photo_url: str | None = None, image_url: str | None = None
) -> MessageView:
    extra: dict[str, Any] = dict(message.extra or {})
    photo = extra.pop("photo", None)  # shown as photo_url; its key stays inside
    if extra.pop("image_key", None) is not None and image_url is not None:
        extra["image_url"] = image_url
    return MessageView(
        id=message.id,
        conversation_id=message.conversation_id,
        role="assistant" if message.role == "assistant" else "user",
        content=message.content,
        status=service.message_status(message, job),
        job_id=message.job_id,
        reply_to=message.reply_to,
        answer_id=service.answer_of(message),
        model=message.model,
        route=message.route,
        input_tokens=message.input_tokens,
        output_tokens=message.output_tokens,
        cost_usd=message.cost_usd,
        tool=extra or None,
        photo_url=photo_url if photo else None,
        created_at=message.created_at,
    )


async def message_views(runtime: Runtime, rows: Sequence[tuple[Message, Job | None]]) -> list[MessageView]:
    """The messages, each photo and delegated image with a link signed now (a stored one expires)."""
    ttl = runtime.settings.storage_presign_ttl_seconds

    async def signed(key: object) -> str | None:
        return await runtime.storage.presigned_get_url(str(key), expires_seconds=ttl) if key else None

    views = []
    for message, job in rows:
        extra = message.extra or {}
        photo_url = await signed((extra.get("photo") or {}).get("key"))
        image_url = await signed(extra.get("image_key"))
        views.append(message_view(message, job, photo_url=photo_url, image_url=image_url))
    return views
