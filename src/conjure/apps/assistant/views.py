"""Rows to response shapes."""

from __future__ import annotations

from conjure.apps.assistant import service
from conjure.apps.assistant.models import Conversation, Message
from conjure.apps.assistant.schemas import ConversationView, MessageView
from conjure.jobs.models import Job


def conversation_view(conversation: Conversation) -> ConversationView:
    return ConversationView(
        id=conversation.id,
        title=conversation.title,
        message_count=conversation.message_count,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
    )


def message_view(message: Message, job: Job | None) -> MessageView:
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
        tool=dict(message.extra) if message.extra else None,
        created_at=message.created_at,
    )
