"""Per-customer keys of the AI audit's texts: what erasure cannot delete from an append-only
table, it makes unreadable by deleting the key.

A customer's row in ``ops_customer_keys`` holds 32 random bytes; with the station's PII key they
derive the customer's cipher (:meth:`PIICipher.for_customer`). An audit output with a text about a
customer (a reply draft for their message, a member's edit of it) is sealed with it and names the
customer (``texts.seal_output``); erasure deletes the row (:func:`forget_key`, in its transaction),
and from then on those texts read as erased (``texts.open_output``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops import texts
from conjure.apps.ops.crypto import CustomerCipher, PIICipher
from conjure.apps.ops.models import Customer, CustomerKey
from conjure.db import insert_ignore, utcnow

MATERIAL_BYTES = 32
LOOKUP_CHUNK = 500


async def sealing_cipher(
    session: AsyncSession, cipher: PIICipher, customer_id: uuid.UUID, *, lock: bool = True
) -> CustomerCipher:
    """The customer's cipher to seal with, their key created on first need (race-safe: an insert
    that does nothing when another transaction made the key, then a read of the one key).

    An erased (or deleted) customer gets a key that is never stored: the text is erased with them.
    ``lock``: the customer's row is locked first, as erasure does, so that an erasure either
    committed before (no key is made) or waits and deletes this key too. A caller already holding
    a row that erasure updates after the customer (a draft) passes False: erasure then waits for
    it and deletes the key after this transaction commits, and locking the customer here could
    deadlock with it.
    """
    found = select(Customer.erased_at).where(Customer.id == customer_id)
    if lock:
        # FOR NO KEY UPDATE: waits for an erasure, not for foreign-key checks of rows naming them.
        found = found.with_for_update(key_share=True)
    row = (await session.execute(found)).first()
    if row is None or row.erased_at is not None:
        return CustomerCipher(customer_id, PIICipher(os.urandom(32), os.urandom(32)))
    stored = select(CustomerKey.material).where(CustomerKey.customer_id == customer_id)
    material = await session.scalar(stored)
    if material is None:  # the first need: only then a write
        values = {"customer_id": customer_id, "material": os.urandom(MATERIAL_BYTES), "created_at": utcnow()}
        await insert_ignore(session, cast(Table, CustomerKey.__table__), values)
        material = await session.scalar(stored)
        assert material is not None  # inserted above, or by the transaction the insert waited for
    return CustomerCipher(customer_id, cipher.for_customer(customer_id, material))


async def opening_ciphers(
    session: AsyncSession, cipher: PIICipher, customer_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, PIICipher]:
    """The ciphers of those customers whose key still exists (an erased customer's does not)."""
    ids, found = list(customer_ids), {}
    # In chunks: the whole audit's export may name more customers than a statement takes parameters.
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        rows = await session.execute(
            select(CustomerKey.customer_id, CustomerKey.material).where(CustomerKey.customer_id.in_(chunk))
        )
        found.update({cid: cipher.for_customer(cid, material) for cid, material in rows})
    return found


async def forget_key(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """Delete the customer's key: the audit texts sealed with it no longer open (erasure)."""
    await session.execute(delete(CustomerKey).where(CustomerKey.customer_id == customer_id))


async def seal_audit_output(
    session: AsyncSession,
    cipher: PIICipher,
    station_id: uuid.UUID,
    audit_id: uuid.UUID,
    output: dict[str, Any] | None,
    customer_id: uuid.UUID | None,
) -> dict[str, Any] | None:
    """``texts.seal_output``, with the customer's key when the output has a text about one (the key
    is made only then: a classification needs none)."""
    customer = None
    if customer_id is not None and output is not None and isinstance(output.get("text"), str):
        customer = await sealing_cipher(session, cipher, customer_id)
    return texts.seal_output(cipher, station_id, audit_id, output, customer)
