"""Inbound messages: routed to a station by address, stored once, threaded per customer, triaged.

:func:`handle_inbound` is the app's ``on_inbound_message`` (the channels layer calls it with a
verified, deduplicated event): it stores the message and queues its triage
(:func:`receive_inbound`). :func:`triage` (the ``ops.triage`` job) classifies it, picks the
escalation level, drafts a reply for Levels 1 and 2, and sends the Level 1 reply by itself.
Reviews from Google become ``reviews`` rows.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

import structlog
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops import ai, customers, escalation, offline, texts
from conjure.apps.ops.crypto import PIICipher, cipher_for, context
from conjure.apps.ops.models import Customer, Draft, InboxMessage, Review, Station, Thread
from conjure.apps.ops.stations import station_for_address
from conjure.apps.ops.threads import NoChannel, send_draft
from conjure.channels.types import InboundMessage
from conjure.db import Database, insert_ignore, new_id, utcnow
from conjure.events.types import UserEventHub
from conjure.jobs.service import submit_job
from conjure.ratelimit.service import RateLimiter
from conjure.settings import Settings

if TYPE_CHECKING:
    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.apps.ops.inbox")

CLASSIFY_INSTRUCTIONS = (
    "Classify a customer's message to a hibachi catering business. intent is one of: greeting, pricing, "
    "availability, booking_request, menu, hours, deposit_question, cancellation, complaint, refund, allergy, "
    "health, legal, other. sensitivity is high for health, allergies, legal matters and money back. "
    "confidence is your probability that the intent is right."
)
DRAFT_INSTRUCTIONS = (
    "Write a short, warm reply (at most 3 sentences) from the catering station named in the prompt to the "
    "customer's message. Promise nothing about prices, refunds or health; offer a team member's follow-up."
)


async def _customer_for(
    session: AsyncSession, cipher: PIICipher, station: Station, msg: InboundMessage
) -> Customer:
    # SMS and WhatsApp senders are phone numbers; a Google user id is keyed the same way, with a prefix.
    phone = msg.from_address if msg.channel in ("sms", "whatsapp") else None
    key = phone or f"{msg.channel}:{msg.from_address}"
    digest = cipher.lookup_hash(key, context(station.id, "phone"))
    stmt = select(Customer).where(Customer.station_id == station.id, Customer.phone_hash == digest)
    found = (await session.execute(stmt.order_by(Customer.created_at).limit(1))).scalar_one_or_none()
    if found is not None:
        return found
    customer = Customer(
        id=new_id(),
        station_id=station.id,
        phone_enc=cipher.encrypt(phone, context(station.id, "phone")),
        phone_hash=digest,
    )
    session.add(customer)
    await customers.set_pii(session, cipher, customer, "name", phone or "Google user")
    await session.flush()
    return customer


async def thread_for(session: AsyncSession, station_id: uuid.UUID, customer_id: uuid.UUID) -> Thread:
    """The customer's one thread in this station (made on first contact, whatever the channel)."""
    values = {
        "id": uuid.uuid4(),
        "station_id": station_id,
        "customer_id": customer_id,
        "last_message_at": utcnow(),
        "created_at": utcnow(),
    }
    await insert_ignore(session, cast(Table, Thread.__table__), values)
    stmt = select(Thread).where(Thread.station_id == station_id, Thread.customer_id == customer_id)
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()


async def store_inbound(session: AsyncSession, cipher: PIICipher, msg: InboundMessage) -> InboxMessage | None:
    """Store a message (or review) once; the new message to triage, or None (duplicate, review, not ours)."""
    station = await station_for_address(session, msg.channel, msg.to_address)
    if station is None:
        log.warning("ops_inbound_unrouted", channel=msg.channel)
        return None
    if msg.kind == "review":
        await insert_ignore(
            session,
            cast(Table, Review.__table__),
            {
                "id": uuid.uuid4(),
                "station_id": station.id,
                "platform": msg.channel,
                "external_id": msg.provider_message_id,
                "reviewer_name": msg.reviewer_name,
                "rating": max(1, min(5, msg.rating or 1)),
                "text": msg.text,
                "reply_status": "none",
                "created_at": utcnow(),
            },
        )
        return None
    customer = await _customer_for(session, cipher, station, msg)
    thread = await thread_for(session, station.id, customer.id)
    message_id = uuid.uuid4()
    inserted = await insert_ignore(
        session,
        cast(Table, InboxMessage.__table__),
        {
            "id": message_id,
            "station_id": station.id,
            "thread_id": thread.id,
            "channel": msg.channel,
            "direction": "in",
            "provider_message_id": msg.provider_message_id,
            **texts.MESSAGE.values(cipher, station.id, message_id, msg.text),
            "is_read": False,
            "triage": "pending",
            "received_at": msg.received_at,
        },
    )
    if not inserted:
        return None
    thread.last_message_at = max(thread.last_message_at, msg.received_at)
    return await session.get(InboxMessage, message_id)


RUNTIME_KEY = "conjure.runtime"
TRIAGE_KIND = "ops.triage"


async def receive_inbound(
    session: AsyncSession, runtime: Runtime, msg: InboundMessage
) -> InboxMessage | None:
    """Store a verified inbound message once and queue its triage in the same transaction."""
    stored = await store_inbound(session, cipher_for(runtime.settings), msg)
    if stored is not None:
        payload = {"message_id": str(stored.id)}
        await submit_job(session, runtime, user_id=None, kind=TRIAGE_KIND, payload=payload)
    return stored


async def handle_inbound(session: AsyncSession, msg: InboundMessage) -> None:
    """The app's ``on_inbound_message`` (channels' ``InboundHandler``): :func:`receive_inbound`.

    That signature carries no settings, so the runtime is read from ``session.info["conjure.runtime"]``,
    which the channels job sets on the session it passes (see docs/ops.md).
    """
    runtime = session.info.get(RUNTIME_KEY)
    if runtime is None:
        raise RuntimeError("handle_inbound needs session.info['conjure.runtime'] (see docs/ops.md)")
    await receive_inbound(session, runtime, msg)


async def triage(
    db: Database,
    settings: Settings,
    limiter: RateLimiter,
    message_id: uuid.UUID,
    events: UserEventHub | None = None,
) -> int:
    """Classify, choose the level, draft (Levels 1-2) and auto-send (Level 1); returns the level.

    The job's payload is the message's id: its text is read (and opened) here, never carried in the
    jobs table."""
    cipher = cipher_for(settings)
    async with db.session() as session:
        message = await session.get(InboxMessage, message_id)
        if message is None or message.triage == "done":
            return message.level or 3 if message else 3
        station = await session.get(Station, message.station_id)
        assert station is not None
        thread = await session.get(Thread, message.thread_id)
        assert thread is not None
        text, station_name, station_id = texts.MESSAGE.read(cipher, message), station.name, station.id
        customer_id = thread.customer_id
    ref = f"inbox_message:{message_id}"
    draft: ai.AIResult[offline.ReplyDraft] | None = None
    try:
        found = await ai.run_ai(
            db, settings, limiter, station_id, task="classify", actor="system", input_ref=ref, critical=False,
            instructions=CLASSIFY_INSTRUCTIONS, prompt=text, output_type=offline.Classification,
            offline=lambda: offline.classify(text), events=events,
        )  # fmt: skip
        classification = found.output
        level = escalation.level_for(station, classification)
        if level < 3:
            draft = await ai.run_ai(
                db, settings, limiter, station_id, task="draft_reply", actor="system", input_ref=ref,
                critical=True, instructions=DRAFT_INSTRUCTIONS, prompt=f"Station: {station_name}\n\n{text}",
                output_type=offline.ReplyDraft, level=level,
                offline=lambda: offline.draft_reply(classification.intent, station_name), events=events,
                customer_id=customer_id,
            )  # fmt: skip
    except ai.AIUnavailable as exc:
        log.info("ops_triage_human_only", reason=exc.reason)
        classification, level, draft = None, 3, None
    async with db.session() as session:
        # The customer may have been erased while the model wrote (no transaction is held across
        # it): their row is locked first, as erasure locks it first, so an erasure either committed
        # before (no draft of their words is made, nor sent) or waits and erases this draft too.
        erased_at = await session.scalar(
            select(Customer.erased_at)
            .join(Thread, Thread.customer_id == Customer.id)
            .join(InboxMessage, InboxMessage.thread_id == Thread.id)
            .where(InboxMessage.id == message_id)
            # FOR NO KEY UPDATE: it waits for an erasure (an UPDATE of the row), not for the
            # foreign-key checks of rows that name the customer (bookings, leads).
            .with_for_update(of=Customer, key_share=True)
        )
        values: dict[str, Any] = {"triage": "done", "level": level}
        if classification is not None:
            values.update(classification.model_dump())
        claimed = await session.execute(
            update(InboxMessage)
            .where(InboxMessage.id == message_id, InboxMessage.triage == "pending")
            .values(**values)
        )
        if cast(Any, claimed).rowcount != 1 or draft is None or erased_at is not None:
            return level
        message = await session.get(InboxMessage, message_id)
        assert message is not None
        row = Draft(
            id=new_id(),
            station_id=station_id,
            thread_id=message.thread_id,
            message_id=message_id,
            level=level,
            audit_id=draft.audit_id,
        )
        texts.DRAFT.seal_into(cipher, row, draft.output.text)
        session.add(row)
        await session.flush()
        if level == 1:
            try:
                async with session.begin_nested():
                    await send_draft(
                        session,
                        db,
                        settings,
                        cipher,
                        row,
                        actor="system",
                        user_id=None,
                        text=None,
                    )
            except NoChannel:
                # Nowhere to send it by itself (no number set up): a member sends it instead.
                log.info("ops_auto_reply_unroutable", message_id=str(message_id))
                level = row.level = message.level = 2
    return level
