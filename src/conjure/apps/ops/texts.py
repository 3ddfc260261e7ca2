"""Message text at rest: the inbox's messages, the AI's drafts (of replies and of review replies),
the leads' messages, the bookings' notes and the AI text in the audit trail, sealed with the PII cipher
(:mod:`conjure.apps.ops.crypto`): one :class:`SealedText` a table (``MESSAGE``, ``DRAFT``,
``LEAD_MESSAGE``, ``REVIEW_DRAFT``, ``BOOKING_NOTES``) seals a row's text and reads it.

Each ciphertext's associated data binds its station, its kind and its row's id
(``<station>:message:<id>``), so a ciphertext copied to another row, kind or station does not
open: reading it raises :class:`TextUnreadable` (409 ``text_unreadable``), never a 500.
The audit's texts about a customer are sealed with that customer's own key instead
(:mod:`conjure.apps.ops.customer_keys`, named in the output's ``customer_id``): once erasure
deletes it they read as erased (:class:`TextErased`, the same 409).

Rows stored before migration ``0026_ops_message_text`` keep their text in the plain column
(``text``, ``leads.message``, ``reviews.reply_draft``, ``bookings.notes``) and ``*_enc`` NULL:
they read as they are until :func:`seal_pending_texts`, the app's periodic task, seals them and
empties the plain column (migrations have no key). New rows are written sealed only: their plain
column holds ``""`` (NULL for the nullable ``reviews.reply_draft`` and ``bookings.notes``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

import structlog
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from conjure.apps.ops.crypto import Backfill, CustomerCipher, PIICipher, Rows, context, in_batches
from conjure.apps.ops.models import Booking, Draft, InboxMessage, Lead, Review
from conjure.errors import ConjureError

if TYPE_CHECKING:
    from conjure.kit.spec import AppRuntime

log = structlog.get_logger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

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


def unseal(cipher: PIICipher, station_id: uuid.UUID, kind: str, row_id: uuid.UUID, sealed: str) -> str:
    """A ciphertext opened; :class:`TextUnreadable` (logged, without the text) if it does not."""
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


# The output field naming the customer whose key sealed ``text_enc`` (absent: the station's key).
SEALED_FOR = "customer_id"


class TextErased(TextUnreadable):
    """An audit text sealed with a customer's key, which their erasure deleted."""


def seal_output(
    cipher: PIICipher,
    station_id: uuid.UUID,
    audit_id: uuid.UUID,
    output: dict[str, Any] | None,
    customer: CustomerCipher | None = None,
) -> dict[str, Any] | None:
    """An audit row's output with its ``text`` (a draft, an edit) sealed as ``text_enc``: with the
    ``customer``'s key when it is about one (named in ``customer_id``), else the station's."""
    if output is None or not isinstance(output.get("text"), str):
        return output
    sealed = {k: v for k, v in output.items() if k != "text"}
    key = cipher if customer is None else customer.cipher
    sealed["text_enc"] = seal(key, station_id, "audit", audit_id, output["text"])
    if customer is not None:
        sealed[SEALED_FOR] = str(customer.customer_id)
    return sealed


def sealed_for(output: object) -> uuid.UUID | None:
    """The customer whose key sealed an audit output's text; None: the station's key (or no text).
    A field that is not a customer's id names no key there is: the text reads as erased."""
    if not isinstance(output, dict) or not isinstance(output.get("text_enc"), str):
        return None
    if SEALED_FOR not in output:
        return None
    try:
        return uuid.UUID(str(output[SEALED_FOR]))
    except ValueError:
        return uuid.UUID(int=0)


def open_output(
    cipher: PIICipher,
    station_id: uuid.UUID,
    audit_id: uuid.UUID,
    output: object,
    *,
    customers: Mapping[uuid.UUID, PIICipher] | None = None,
    lenient: bool = False,
) -> object:
    """An audit row's output as it was given to :func:`seal_output` (rows from before: as stored);
    ``customers``: the keys of the customers named by outputs (``customer_keys.opening_ciphers``),
    where an erased customer has none (:class:`TextErased`); ``lenient``: a text that does not open
    is null (see :func:`readable`)."""
    if not isinstance(output, dict) or not isinstance(output.get("text_enc"), str):
        return output
    opened = {k: v for k, v in output.items() if k not in ("text_enc", SEALED_FOR)}
    owner = sealed_for(output)
    key = cipher if owner is None else (customers or {}).get(owner)
    if key is None:
        if not lenient:
            raise TextErased("This audit entry's text was erased with its customer.")
        opened["text"] = None
        return opened
    opened["text"] = readable(lenient, unseal, key, station_id, "audit", audit_id, output["text_enc"])
    return opened


Model = TypeVar("Model", InboxMessage, Draft, Lead, Review, Booking)
Text = TypeVar("Text", str, str | None)


@dataclass(frozen=True)
class SealedText(Generic[Model, Text]):
    """One table's text column and its sealed twin; ``cleared``: what the plain column holds once
    sealed (None where the text is optional: a review without a draft, a booking without notes)."""

    model: type[Model]
    kind: str
    plain: InstrumentedAttribute[Text]
    sealed: InstrumentedAttribute[str | None]
    cleared: Text

    def values(
        self, cipher: PIICipher, station_id: uuid.UUID, row_id: uuid.UUID, text: Text
    ) -> dict[str, str | None]:
        """The two columns of a row holding ``text``: sealed, and the plain one cleared (None: neither)."""
        sealed = None if text is None else seal(cipher, station_id, self.kind, row_id, text)
        return {self.sealed.key: sealed, self.plain.key: self.cleared}

    def seal_into(self, cipher: PIICipher, row: Model, text: Text) -> None:
        """Seal ``text`` into ``row`` (its ``id`` and ``station_id`` set first)."""
        for column, value in self.values(cipher, row.station_id, row.id, text).items():
            setattr(row, column, value)

    def read(self, cipher: PIICipher, row: Model) -> Text:
        """The row's text: its ciphertext opened, or (a row not sealed yet) its plain column."""
        sealed: str | None = getattr(row, self.sealed.key)
        if sealed is None:
            plain: Text = getattr(row, self.plain.key)
            return plain
        return unseal(cipher, row.station_id, self.kind, row.id, sealed)

    def pending(self) -> ColumnElement[bool]:
        """The rows still to seal (what the table's ``ix_<table>_unsealed`` partial index holds)."""
        return self.sealed.is_(None) if self.cleared is not None else self.plain.is_not(None)

    def backfill(self) -> Backfill:
        """Sealing the rows stored in clear (:func:`seal_pending_texts`)."""
        return select(self.model.id, self.model.station_id, self.plain).where(self.pending()), self._seal

    async def _seal(self, session: AsyncSession, cipher: PIICipher, rows: Rows) -> None:
        model = self.model
        for row_id, station_id, plain in rows:
            assert plain is not None  # a pending row has its plain text (NOT NULL, or chosen so)
            await session.execute(
                update(model)
                # Still the text read above: a row erased meanwhile keeps its erasure, whatever the
                # backend's locking (PostgreSQL's row lock already prevents it).
                .where(model.id == row_id, self.pending(), self.plain == plain)
                .values(self.values(cipher, station_id, row_id, plain))
            )


MESSAGE = SealedText(InboxMessage, "message", InboxMessage.text, InboxMessage.text_enc, CLEARED)
DRAFT = SealedText(Draft, "draft", Draft.text, Draft.text_enc, CLEARED)
LEAD_MESSAGE = SealedText(Lead, "lead_message", Lead.message, Lead.message_enc, CLEARED)
# A review without a draft has neither: only a plain draft is pending.
REVIEW_DRAFT = SealedText(Review, "review_draft", Review.reply_draft, Review.reply_draft_enc, None)
BOOKING_NOTES = SealedText(Booking, "booking_notes", Booking.notes, Booking.notes_enc, None)
TABLES: tuple[SealedText[Any, Any], ...] = (MESSAGE, DRAFT, LEAD_MESSAGE, REVIEW_DRAFT, BOOKING_NOTES)


async def seal_pending_texts(runtime: AppRuntime) -> int:
    """Seal the texts stored in clear before 0026, a batch per table and transaction for about
    a second; how many rows. Safe in several workers at once: PostgreSQL locks each batch
    (skipping rows another worker holds), SQLite runs one writer at a time."""
    async with runtime.db.session() as session:
        # One transaction to see that nothing is pending (each EXISTS reads its partial index)
        # rather than one per table at every tick once all are sealed.
        waiting = select(*(select(t.model.id).where(t.pending()).exists() for t in TABLES))
        pending = (await session.execute(waiting)).one()
    done = await in_batches(
        runtime, *(t.backfill() for t, waits in zip(TABLES, pending, strict=True) if waits)
    )
    if done:
        log.info("ops_texts_sealed", rows=done)
    return done
