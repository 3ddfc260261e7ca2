"""Message text at rest: the inbox's messages, the AI's drafts (of replies and of review replies),
the leads' messages, the bookings' notes and the AI text in the audit trail, sealed with the PII cipher
(:mod:`conjure.apps.ops.crypto`).

Each ciphertext's associated data binds its station, its kind and its row's id
(``<station>:message:<id>``), so a ciphertext copied to another row, kind or station does not
open: reading it raises :class:`TextUnreadable` (409 ``text_unreadable``), never a 500.

Rows stored before migration ``0026_ops_message_text`` keep their text in the plain column
(``text``, ``leads.message``, ``reviews.reply_draft``, ``bookings.notes``) and ``*_enc`` NULL:
they read as they are until :func:`seal_pending_texts`, the app's periodic task, seals them and
empties the plain column (migrations have no key). New rows are written sealed only: their plain
column holds ``""`` (NULL for the nullable ``reviews.reply_draft`` and ``bookings.notes``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import structlog
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from conjure.apps.ops.crypto import PIICipher, cipher_for, context
from conjure.apps.ops.models import Booking, Draft, InboxMessage, Lead, Review
from conjure.errors import ConjureError

if TYPE_CHECKING:
    from conjure.kit.spec import AppRuntime
    from conjure.settings import Settings

log = structlog.get_logger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

# The backfill: rows per transaction (per table), and how long one scheduler tick may spend.
PENDING_BATCH = 200
PENDING_BUDGET_SECONDS = 1.0
PENDING_EVERY_SECONDS = 10.0
# What a sealed row keeps in its plain column (NOT NULL there: making it nullable would make
# SQLite rebuild the tables, whose foreign keys would cascade the rebuild's DROP).
CLEARED = ""


class TextUnreadable(ConjureError):
    """A stored text's ciphertext does not open: moved from another row or station, or another key."""

    code, status = "text_unreadable", 409


def text_context(station_id: uuid.UUID, kind: str, row_id: uuid.UUID) -> str:
    """Associated data of one row's text: station, kind (``message``, ``draft``, …) and row id."""
    return context(station_id, f"{kind}:{row_id}")


def seal(cipher: PIICipher, station_id: uuid.UUID, kind: str, row_id: uuid.UUID, text: str) -> str:
    sealed = cipher.encrypt(text, text_context(station_id, kind, row_id))
    assert sealed is not None
    return sealed


def unseal(
    cipher: PIICipher, station_id: uuid.UUID, kind: str, row_id: uuid.UUID, sealed: str | None, plain: str
) -> str:
    """The row's text: its ciphertext opened, or (a row not sealed yet) its plain column."""
    if sealed is None:
        return plain
    try:
        opened = cipher.decrypt(sealed, text_context(station_id, kind, row_id))
    except ValueError:
        log.warning("ops_text_unreadable", kind=kind, row_id=str(row_id))
        raise TextUnreadable(
            f"This {kind.replace('_', ' ')}'s text cannot be decrypted: its ciphertext belongs to "
            "another row or station, or was sealed with another key."
        ) from None
    return opened or ""


def readable(lenient: bool, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """``read(*args, **kwargs)``; ``lenient`` (a list, an export): a text that does not open is
    None (:func:`unseal` logged it, without the text) instead of :class:`TextUnreadable`, so one
    damaged row shows without its text and does not fail the whole list with 409."""
    try:
        return read(*args, **kwargs)
    except TextUnreadable:
        if not lenient:
            raise
        return None


# --- one helper pair per table -------------------------------------------------------------


def set_message_text(cipher: PIICipher, message: InboxMessage, text: str) -> None:
    """Seal ``text`` into a message (its ``id`` and ``station_id`` set first)."""
    message.text_enc = seal(cipher, message.station_id, "message", message.id, text)
    message.text = CLEARED


def message_text(cipher: PIICipher, message: InboxMessage) -> str:
    return unseal(cipher, message.station_id, "message", message.id, message.text_enc, message.text)


def set_draft_text(cipher: PIICipher, draft: Draft, text: str) -> None:
    draft.text_enc = seal(cipher, draft.station_id, "draft", draft.id, text)
    draft.text = CLEARED


def draft_text(cipher: PIICipher, draft: Draft) -> str:
    return unseal(cipher, draft.station_id, "draft", draft.id, draft.text_enc, draft.text)


def set_lead_message(cipher: PIICipher, lead: Lead, text: str) -> None:
    lead.message_enc = seal(cipher, lead.station_id, "lead_message", lead.id, text)
    lead.message = CLEARED


def lead_message(cipher: PIICipher, lead: Lead) -> str:
    return unseal(cipher, lead.station_id, "lead_message", lead.id, lead.message_enc, lead.message)


def set_review_draft(cipher: PIICipher, review: Review, text: str) -> None:
    review.reply_draft_enc = seal(cipher, review.station_id, "review_draft", review.id, text)
    review.reply_draft = None


def review_draft(cipher: PIICipher, review: Review) -> str | None:
    if review.reply_draft_enc is None:
        return review.reply_draft
    return unseal(cipher, review.station_id, "review_draft", review.id, review.reply_draft_enc, "")


def seal_output(
    cipher: PIICipher, station_id: uuid.UUID, audit_id: uuid.UUID, output: dict[str, Any] | None
) -> dict[str, Any] | None:
    """An audit row's output with its ``text`` (a draft, an edit) sealed as ``text_enc``."""
    if output is None or not isinstance(output.get("text"), str):
        return output
    sealed = {k: v for k, v in output.items() if k != "text"}
    sealed["text_enc"] = seal(cipher, station_id, "audit", audit_id, output["text"])
    return sealed


def open_output(
    cipher: PIICipher, station_id: uuid.UUID, audit_id: uuid.UUID, output: object, *, lenient: bool = False
) -> object:
    """An audit row's output as it was given to :func:`seal_output` (rows from before: as stored);
    ``lenient``: a text that does not open is null (see :func:`readable`)."""
    if not isinstance(output, dict) or not isinstance(output.get("text_enc"), str):
        return output
    opened = {k: v for k, v in output.items() if k != "text_enc"}
    opened["text"] = readable(lenient, unseal, cipher, station_id, "audit", audit_id, output["text_enc"], "")
    return opened


def set_booking_notes(cipher: PIICipher, booking: Booking, notes: str | None) -> None:
    """Seal a booking's notes (its ``id`` and ``station_id`` set first); no notes: neither column."""
    booking.notes_enc = (
        None if notes is None else seal(cipher, booking.station_id, "booking_notes", booking.id, notes)
    )
    booking.notes = None


def booking_notes(cipher: PIICipher, booking: Booking) -> str | None:
    if booking.notes_enc is None:
        return booking.notes
    return unseal(cipher, booking.station_id, "booking_notes", booking.id, booking.notes_enc, "")


# --- the backfill --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sealed:
    """One text column and its sealed twin; ``cleared``: what the plain column holds once sealed."""

    model: type[InboxMessage] | type[Draft] | type[Lead] | type[Review] | type[Booking]
    kind: str
    plain: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]
    sealed: InstrumentedAttribute[str | None]
    cleared: str | None = CLEARED

    def pending(self) -> ColumnElement[bool]:
        """The rows still to seal (what the table's ``ix_<table>_unsealed`` partial index holds)."""
        return self.sealed.is_(None) if self.cleared is not None else self.plain.is_not(None)


TABLES = (
    _Sealed(InboxMessage, "message", InboxMessage.text, InboxMessage.text_enc),
    _Sealed(Draft, "draft", Draft.text, Draft.text_enc),
    _Sealed(Lead, "lead_message", Lead.message, Lead.message_enc),
    # A review without a draft has neither: only a plain draft is pending.
    _Sealed(Review, "review_draft", Review.reply_draft, Review.reply_draft_enc, cleared=None),
    _Sealed(Booking, "booking_notes", Booking.notes, Booking.notes_enc, cleared=None),
)


async def seal_pending_texts(runtime: AppRuntime) -> int:
    """Seal the texts stored in clear before 0026, a batch per table and transaction for about
    a second; how many rows. Safe in several workers at once: PostgreSQL locks each batch
    (skipping rows another worker holds), SQLite runs one writer at a time."""
    done = 0
    started = time.monotonic()
    for table in TABLES:
        while time.monotonic() - started < PENDING_BUDGET_SECONDS:
            async with runtime.db.session() as session:
                batch = await _seal_batch(session, runtime.settings, table)
            done += batch
            if batch < PENDING_BATCH:
                break
    if done:
        log.info("ops_texts_sealed", rows=done)
    return done


async def _seal_batch(session: AsyncSession, settings: Settings, table: _Sealed) -> int:
    model = table.model
    rows = (
        await session.execute(
            select(model.id, model.station_id, table.plain)
            .where(table.pending())
            .limit(PENDING_BATCH)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not rows:
        return 0
    # Only now: with nothing to seal no key is needed (an unused ops app, no OPS_PII_KEY).
    cipher = cipher_for(settings)
    for row_id, station_id, plain in rows:
        assert plain is not None  # a pending row has its plain text (NOT NULL, or chosen so)
        sealed = seal(cipher, station_id, table.kind, row_id, plain)
        await session.execute(
            update(model)
            # Still the text read above: a row erased meanwhile keeps its erasure, whatever the
            # backend's locking (PostgreSQL's row lock already prevents it).
            .where(model.id == row_id, table.pending(), table.plain == plain)
            .values({table.sealed: sealed, table.plain: table.cleared})
        )
    return len(rows)
