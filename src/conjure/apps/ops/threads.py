"""The inbox as members see it: threads, read state, assignment, replies, and the AI drafts' decisions.

A reply (typed, or an approved draft) is stored as an outbound message in the thread and sent
through its channel once the transaction commits. Every decision on a draft appends an audit
row naming who approved, edited or rejected it (``ops_ai_audit`` is append-only).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops import ai, customer_keys, outbound, texts
from conjure.apps.ops.crypto import PIICipher, context
from conjure.apps.ops.models import Customer, Draft, InboxMessage, Member, StationChannel, Thread
from conjure.apps.ops.schemas import MessageView, ThreadView
from conjure.db import Database, after_commit, utcnow
from conjure.errors import Conflict, ConjureError, NotFound
from conjure.settings import Settings


class NoChannel(ConjureError):
    code, status = "no_channel", 422


class DraftDecided(Conflict):
    code = "draft_decided"


class ReplyKeyReused(Conflict):
    code = "idempotency_key_reused"


def message_view(cipher: PIICipher, m: InboxMessage, *, lenient: bool = False) -> MessageView:
    """The message as shown; ``lenient`` (lists): a text that does not open is null, not 409."""
    return MessageView(
        id=m.id,
        thread_id=m.thread_id,
        channel=m.channel,
        direction=m.direction,
        text=texts.readable(lenient, texts.MESSAGE.read, cipher, m),
        is_read=m.is_read,
        intent=m.intent,
        sentiment=m.sentiment,
        sensitivity=m.sensitivity,
        confidence=m.confidence,
        level=m.level,
        received_at=m.received_at,
    )


async def list_threads(
    session: AsyncSession,
    cipher: PIICipher,
    station_id: uuid.UUID,
    *,
    unread: bool | None,
    assigned_to: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[ThreadView], int]:
    unread_count = (
        select(func.count())
        .where(
            InboxMessage.thread_id == Thread.id,
            InboxMessage.is_read.is_(False),
            InboxMessage.direction == "in",
        )
        .scalar_subquery()
    )
    last_id = (
        select(InboxMessage.id)
        .where(InboxMessage.thread_id == Thread.id)
        .order_by(InboxMessage.received_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    last_level = (
        select(InboxMessage.level)
        .where(InboxMessage.thread_id == Thread.id, InboxMessage.direction == "in")
        .order_by(InboxMessage.received_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    where: list[Any] = [Thread.station_id == station_id]
    if unread is not None:
        where.append(unread_count > 0 if unread else unread_count == 0)
    if assigned_to is not None:
        where.append(Thread.assigned_user_id == assigned_to)
    total = await session.scalar(select(func.count()).select_from(Thread).where(*where))
    stmt = (
        select(Thread, Customer, unread_count, last_id, last_level)
        .join(Customer, Customer.id == Thread.customer_id)
        .where(*where)
        .order_by(Thread.last_message_at.desc(), Thread.id)
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(stmt)).all()
    # The page's last messages by id, then opened here: a join on the "last message" subquery
    # would make PostgreSQL hash the whole messages table.
    ids = [row[3] for row in rows if row[3] is not None]
    last = {m.id: m for m in await session.scalars(select(InboxMessage).where(InboxMessage.id.in_(ids)))}
    items = [
        ThreadView(
            id=t.id,
            customer_id=t.customer_id,
            customer_name=cipher.decrypt(c.name_enc, context(c.station_id, "name")),
            assigned_user_id=t.assigned_user_id,
            unread=int(n or 0),
            last_message_at=t.last_message_at,
            last_text=_last_text(cipher, last.get(m)),
            level=level,
        )
        for t, c, n, m, level in rows
    ]
    return items, int(total or 0)


def _last_text(cipher: PIICipher, message: InboxMessage | None) -> str | None:
    """A thread's last text for the list; one that does not open (``TextUnreadable``) is left
    out there, so one damaged row does not take the station's inbox down: its thread says why."""
    if message is None:
        return None
    return texts.readable(True, texts.MESSAGE.read, cipher, message)


async def customer_name(session: AsyncSession, cipher: PIICipher, thread: Thread) -> str | None:
    customer = await session.get(Customer, thread.customer_id)
    return cipher.decrypt(customer.name_enc, context(thread.station_id, "name")) if customer else None


async def get_thread(session: AsyncSession, station_id: uuid.UUID, thread_id: uuid.UUID) -> Thread:
    thread = await session.get(Thread, thread_id)
    if thread is None or thread.station_id != station_id:
        raise NotFound("No such thread.")
    return thread


async def messages_of(session: AsyncSession, thread: Thread) -> list[InboxMessage]:
    stmt = select(InboxMessage).where(InboxMessage.thread_id == thread.id)
    return list(await session.scalars(stmt.order_by(InboxMessage.received_at, InboxMessage.id)))


async def mark_read(session: AsyncSession, thread: Thread, read: bool = True) -> None:
    await session.execute(
        update(InboxMessage).where(InboxMessage.thread_id == thread.id).values(is_read=read)
    )


async def assign(session: AsyncSession, thread: Thread, user_id: uuid.UUID | None) -> None:
    if user_id is not None:
        member = await session.scalar(
            select(Member.id).where(Member.station_id == thread.station_id, Member.user_id == user_id)
        )
        if member is None:
            raise ConjureError(
                "Assign the thread to a member of this station.", code="not_a_member", status=422
            )
    thread.assigned_user_id = user_id


async def _route(session: AsyncSession, thread: Thread, channel: str | None) -> tuple[str, str, str]:
    """(channel, our address, the customer's address) for a reply in this thread."""
    if channel is None:
        channel = await session.scalar(
            select(InboxMessage.channel)
            .where(InboxMessage.thread_id == thread.id, InboxMessage.direction == "in")
            .order_by(InboxMessage.received_at.desc())
            .limit(1)
        )
    if channel not in ("sms", "whatsapp"):
        raise NoChannel("This thread has no SMS or WhatsApp conversation to reply in.")
    ours = await session.scalar(
        select(StationChannel.address).where(
            and_(StationChannel.station_id == thread.station_id, StationChannel.channel == channel)
        )
    )
    customer = await session.get(Customer, thread.customer_id)
    if ours is None or customer is None or customer.phone_enc is None:
        raise NoChannel(f"No {channel} address is set up for this station or customer.")
    return channel, ours, customer.phone_enc


async def send_reply(
    session: AsyncSession,
    db: Database,
    settings: Settings,
    cipher: PIICipher,
    thread: Thread,
    text: str,
    *,
    user_id: uuid.UUID | None,
    channel: str | None = None,
    idempotency_key: str | None = None,
) -> InboxMessage:
    """Store the reply in the thread and send it through its channel after commit.

    With an ``idempotency_key`` a reply sent again (a retry after a dropped connection) is the reply
    stored the first time, not sent again; the key with another text is 409. Replies with keys take
    the thread's row lock, so two copies at once are seen one after the other."""
    if idempotency_key is not None:
        await session.execute(select(Thread.id).where(Thread.id == thread.id).with_for_update())
        earlier = await session.scalar(
            select(InboxMessage).where(
                InboxMessage.thread_id == thread.id, InboxMessage.idempotency_key == idempotency_key
            )
        )
        if earlier is not None:
            if texts.MESSAGE.read(cipher, earlier) != text:
                raise ReplyKeyReused("This Idempotency-Key was used with another reply.")
            return earlier
    channel, ours, phone_enc = await _route(session, thread, channel)
    phone = cipher.decrypt(phone_enc, context(thread.station_id, "phone")) or ""
    message = InboxMessage(
        id=uuid.uuid4(),
        station_id=thread.station_id,
        thread_id=thread.id,
        channel=channel,
        direction="out",
        provider_message_id=f"pending:{uuid.uuid4()}",
        is_read=True,
        triage="done",
        sent_by=user_id,
        received_at=utcnow(),
        idempotency_key=idempotency_key,
    )
    texts.MESSAGE.seal_into(cipher, message, text)
    session.add(message)
    await session.flush()
    thread.last_message_at = message.received_at
    message_id = message.id
    after_commit(session, lambda: outbound.deliver(db, settings, message_id, channel, ours, phone))
    return message


async def send_draft(
    session: AsyncSession,
    db: Database,
    settings: Settings,
    cipher: PIICipher,
    draft: Draft,
    *,
    actor: str,
    user_id: uuid.UUID | None,
    text: str | None,
) -> Draft:
    """Approve (as is, or edited) and send a pending draft; Level 1 drafts are sent by ``system``."""
    if draft.status != "pending":
        raise DraftDecided(f"This draft was already {draft.status}.")
    thread = await session.get(Thread, draft.thread_id)
    assert thread is not None
    if text is None:
        text, edited = texts.DRAFT.read(cipher, draft), False
    else:
        # The member's own text replaces the draft, which is opened only to tell an edit: one that
        # does not open does not stop the reply (and counts as edited: nothing shows it matched).
        edited = text != texts.readable(True, texts.DRAFT.read, cipher, draft)
    await send_reply(session, db, settings, cipher, thread, text, user_id=user_id)
    draft.status = "auto_sent" if user_id is None else "approved"
    draft.edited = edited
    draft.decided_by, draft.decided_at = user_id, utcnow()
    action = "draft.auto_sent" if user_id is None else ("draft.edited" if edited else "draft.approved")
    # The draft's row is held (``get_draft``, or the triage's insert): an erasure updates it after
    # locking the customer, so the customer's row is not locked here (see ``sealing_cipher``).
    customer = None
    if edited:
        customer = await customer_keys.sealing_cipher(session, cipher, thread.customer_id, lock=False)
    ai.record_decision(
        session,
        draft.station_id,
        action=action,
        actor=actor,
        input_ref=f"draft:{draft.id}",
        refers_to=draft.audit_id,
        output={"text": text} if edited else None,
        level=draft.level,
        cipher=cipher,
        customer=customer,
    )
    return draft


def reject_draft(session: AsyncSession, draft: Draft, user_id: uuid.UUID) -> Draft:
    if draft.status != "pending":
        raise DraftDecided(f"This draft was already {draft.status}.")
    draft.status, draft.decided_by, draft.decided_at = "rejected", user_id, utcnow()
    ai.record_decision(
        session,
        draft.station_id,
        action="draft.rejected",
        actor=str(user_id),
        input_ref=f"draft:{draft.id}",
        refers_to=draft.audit_id,
        level=draft.level,
    )
    return draft


async def get_draft(session: AsyncSession, station_id: uuid.UUID, draft_id: uuid.UUID) -> Draft:
    draft = await session.get(Draft, draft_id, with_for_update=True)
    if draft is None or draft.station_id != station_id:
        raise NotFound("No such draft.")
    return draft


async def list_drafts(
    session: AsyncSession,
    cipher: PIICipher,
    station_id: uuid.UUID,
    *,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[Draft, str | None, str | None]], int]:
    """The drafts, newest first, each with its text and the text of the message it answers (null:
    a text that does not open, so one damaged row does not fail the list)."""
    where: list[Any] = [Draft.station_id == station_id]
    if status:
        where.append(Draft.status == status)
    total = await session.scalar(select(func.count()).select_from(Draft).where(*where))
    stmt = (
        select(Draft, InboxMessage)
        .join(InboxMessage, InboxMessage.id == Draft.message_id)
        .where(*where)
        .order_by(Draft.created_at.desc(), Draft.id)
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(stmt)).all()
    found = [
        (
            d,
            texts.readable(True, texts.DRAFT.read, cipher, d),
            texts.readable(True, texts.MESSAGE.read, cipher, m),
        )
        for d, m in rows
    ]
    return found, int(total or 0)
