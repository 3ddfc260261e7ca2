"""Customer name search without decrypting every name: a blind index of keyed n-gram tokens.

A name is normalised (Unicode NFKC, case folded, runs of white space made one space) and cut into
every piece of 1 to :data:`GRAM` characters, spaces included, whatever the script: Thai writes a
name without spaces between words, so pieces never rely on word boundaries. Each piece is stored
as a keyed 64-bit token (HMAC-SHA256 with the cipher's hashing subkey, the station in its context,
:meth:`PIICipher.search_token`), one row per (station, token, customer).

A search normalises the query the same way. A query of at most :data:`GRAM` characters is itself
one piece: the customers holding its token are the matches, and nothing is decrypted. A longer
query is cut into its :data:`GRAM`-character pieces; the customers holding all of them are the
candidates (the pieces may sit apart in a name), and only those are decrypted to confirm that the
name holds the query whole. Emails and phones keep their own whole-value hashes (``customers``).

Names stored before the index existed (``Customer.name_indexed`` false) are indexed by
:func:`index_pending_names`, the ops app's periodic task in every worker's scheduler (the
migration cannot: it has no key); until then a search decrypts those, as every search once did.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import Select, delete, false, func, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops.crypto import PIICipher, Rows, context, in_batches
from conjure.apps.ops.models import Customer, CustomerNameToken

if TYPE_CHECKING:
    from conjure.kit.spec import AppRuntime

log = structlog.get_logger(__name__)

# Pieces of 1, 2 and 3 characters: 3 makes a longer query selective (few false candidates), and
# the shorter pieces keep one- and two-character searches working (a two-character name is common
# in Chinese, a first keystroke in the booking form is one character) without decrypting.
GRAM = 3
_TOKEN = CustomerNameToken


def normalise(text: str) -> str:
    """The form names and queries are compared in: NFKC, case folded, single spaces, trimmed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def pieces(normalised: str) -> set[str]:
    """Every piece of 1 to :data:`GRAM` characters of a normalised name (what is indexed), but the
    lone space, which a query never is (queries are trimmed)."""
    found = {
        normalised[start : start + size]
        for size in range(1, GRAM + 1)
        for start in range(len(normalised) - size + 1)
    }
    found.discard(" ")
    return found


def query_pieces(needle: str) -> set[str]:
    """What a normalised query is looked up by: itself if short, else its :data:`GRAM`-character pieces."""
    if len(needle) <= GRAM:
        return {needle}
    return {needle[start : start + GRAM] for start in range(len(needle) - GRAM + 1)}


def token_context(station_id: uuid.UUID) -> str:
    return context(station_id, "name-token")


def token_rows(
    cipher: PIICipher, station_id: uuid.UUID, customer_id: uuid.UUID, name: str | None
) -> list[dict[str, object]]:
    """The ``ops_customer_name_tokens`` rows of one customer's name."""
    if name is None:
        return []
    ctx = token_context(station_id)
    tokens = {cipher.search_token(piece, ctx) for piece in pieces(normalise(name))}
    return [{"station_id": station_id, "token": t, "customer_id": customer_id} for t in tokens]


async def write_tokens(
    session: AsyncSession, cipher: PIICipher, customer: Customer, name: str | None
) -> None:
    """Replace the customer's name tokens with those of ``name`` (none for None)."""
    customer.name_indexed = True  # set first: the flush below writes the row once, flag included
    if inspect(customer).pending:  # a new customer: no tokens yet, the row (and id) they refer to
        await session.flush()
    else:
        await session.execute(delete(_TOKEN).where(_TOKEN.customer_id == customer.id))
    rows = token_rows(cipher, customer.station_id, customer.id, name)
    if rows:
        await session.execute(insert(_TOKEN), rows)


async def forget_tokens(session: AsyncSession, customer: Customer) -> None:
    """Delete the customer's name tokens (erasure: an erased customer's name is found by nothing)."""
    customer.name_indexed = True  # nothing left to index
    await session.execute(delete(_TOKEN).where(_TOKEN.customer_id == customer.id))


async def name_matches(
    session: AsyncSession, cipher: PIICipher, station_id: uuid.UUID, q: str, limit: int
) -> Select[uuid.UUID]:
    """The ids of the station's customers whose name holds ``q`` (any case), at most ``limit``.

    A select of ``Customer.id`` filtered by id alone (the ids come from the station's tokens or
    rows): the caller's ``station_id = ? AND id IN (…)`` seeks each by the (station_id, id) index.
    """
    needle = normalise(q)
    if not needle:
        return select(Customer.id).where(false())
    ctx = token_context(station_id)
    by_token = _TOKEN.station_id == station_id
    pending = await _pending_matches(session, cipher, station_id, needle, limit)
    if len(needle) <= GRAM:
        # The query is one indexed piece: every holder of its token matches, none is decrypted.
        token = cipher.search_token(needle, ctx)
        holders = select(_TOKEN.customer_id).where(by_token, _TOKEN.token == token).limit(limit)
        matched = Customer.id.in_(holders)
        return select(Customer.id).where(matched | Customer.id.in_(pending) if pending else matched)
    tokens = {cipher.search_token(piece, ctx) for piece in query_pieces(needle)}
    candidates = (
        select(_TOKEN.customer_id)
        .where(by_token, _TOKEN.token.in_(tokens))
        .group_by(_TOKEN.customer_id)
        .having(func.count() == len(tokens))
    )
    rows = await session.execute(
        select(Customer.id, Customer.name_enc).where(
            Customer.station_id == station_id, Customer.id.in_(candidates)
        )
    )
    found = _confirm(cipher, station_id, needle, rows, limit)
    return select(Customer.id).where(Customer.id.in_(found + pending))


def _confirm(
    cipher: PIICipher,
    station_id: uuid.UUID,
    needle: str,
    rows: Iterable[tuple[uuid.UUID, str | None]],
    limit: int,
) -> list[uuid.UUID]:
    """The ids among ``rows`` whose decrypted name holds ``needle``, at most ``limit``."""
    ids: list[uuid.UUID] = []
    for customer_id, name_enc in rows:
        name = cipher.decrypt(name_enc, context(station_id, "name"))
        if name is not None and needle in normalise(name):
            ids.append(customer_id)
            if len(ids) >= limit:
                break
    return ids


async def _pending_matches(
    session: AsyncSession, cipher: PIICipher, station_id: uuid.UUID, needle: str, limit: int
) -> list[uuid.UUID]:
    """Matches among the names not indexed yet (decrypted: none once the backfill has run)."""
    rows = await session.execute(
        select(Customer.id, Customer.name_enc).where(
            Customer.name_indexed == false(),
            Customer.station_id == station_id,
            Customer.name_enc.is_not(None),
        )
    )
    return _confirm(cipher, station_id, needle, rows, limit)


async def index_pending_names(runtime: AppRuntime) -> int:
    """Index names stored before the index existed, a batch per transaction for about a second;
    how many. Safe in several workers at once: PostgreSQL locks each batch (skipping rows another
    worker or a rename holds), SQLite runs one writer at a time."""
    pending = select(Customer.id, Customer.station_id, Customer.name_enc).where(
        Customer.name_indexed == false(), Customer.name_enc.is_not(None)
    )
    done = await in_batches(runtime, (pending, _index_batch))
    if done:
        log.info("ops_names_indexed", customers=done)
    return done


async def _index_batch(session: AsyncSession, cipher: PIICipher, rows: Rows) -> None:
    ids = [row.id for row in rows]
    tokens: list[dict[str, object]] = []
    for customer_id, station_id, name_enc in rows:
        try:
            name = cipher.decrypt(name_enc, context(station_id, "name"))
        except ValueError:
            # Unreadable with this key (it reads as an error everywhere else too): left out of the
            # index rather than retried at every tick ahead of the rows that can be indexed.
            log.warning("ops_name_not_indexed", customer_id=str(customer_id))
            continue
        tokens += token_rows(cipher, station_id, customer_id, name)
    # Tokens a row had before being marked for reindexing go first (none for a row from before 0025).
    await session.execute(delete(_TOKEN).where(_TOKEN.customer_id.in_(ids)))
    if tokens:
        await session.execute(insert(_TOKEN), tokens)
    await session.execute(update(Customer).where(Customer.id.in_(ids)).values(name_indexed=True))
