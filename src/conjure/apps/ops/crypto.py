"""Customer PII at rest: AES-256-GCM per field, and keyed hashes (HMAC-SHA256) to look values up
(whole emails and phones; the name search's tokens, :mod:`conjure.apps.ops.names`).

The key is ``OPS_PII_KEY`` (32 bytes, base64 or hex). Outside production an unset key is derived
from ``JWT_SECRET`` so the embedded default works with no set-up; production refuses to start
the cipher without it. Two subkeys are derived (HKDF), one to encrypt and one to hash, so the
lookup hash never reveals anything about the ciphertext key.

What a migration cannot do (it has no key) the workers' schedulers backfill, in batches
(:func:`in_batches`): the name index (``names``), the sealing of message text (``texts``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Row, Select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.ops.settings import OpsSettings
from conjure.settings import Settings

if TYPE_CHECKING:
    from conjure.kit.spec import AppRuntime

_VERSION = "v1"
# The backfills: rows per transaction, how long one scheduler tick may spend, how often it runs.
PENDING_BATCH = 200
PENDING_BUDGET_SECONDS = 1.0
PENDING_EVERY_SECONDS = 10.0


def context(station_id: uuid.UUID, field: str) -> str:
    """Associated data of one field: a ciphertext moved to another station or field fails to open."""
    return f"{station_id}:{field}"


class PIIKeyMissing(RuntimeError):
    """Production without ``OPS_PII_KEY``."""


def _decode_key(text: str) -> bytes:
    text = text.strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        try:
            raw = base64.b64decode(text, validate=True)
        except binascii.Error:
            raw = b""
    if len(raw) != 32:
        raise PIIKeyMissing("OPS_PII_KEY must be 32 bytes, base64 or hex encoded.")
    return raw


def _subkey(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"conjure-ops-" + purpose).derive(
        master
    )


@dataclass(frozen=True)
class PIICipher:
    """Encrypts and hashes one station's customer fields (the station id is bound as associated data)."""

    enc_key: bytes
    hash_key: bytes

    def encrypt(self, value: str | None, context: str) -> str | None:
        if value is None:
            return None
        nonce = os.urandom(12)
        sealed = AESGCM(self.enc_key).encrypt(nonce, value.encode(), context.encode())
        return f"{_VERSION}:" + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str | None, context: str) -> str | None:
        if token is None:
            return None
        version, _, body = token.partition(":")
        if version != _VERSION:
            raise ValueError("unknown PII ciphertext version")
        raw = base64.b64decode(body)
        try:
            return AESGCM(self.enc_key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise ValueError("PII ciphertext does not match its key or station") from None

    def lookup_hash(self, value: str | None, context: str) -> str | None:
        """A keyed hash of the normalised value, for equality lookups within one station."""
        if value is None or not value.strip():
            return None
        message = f"{context}|{value.strip().lower()}".encode()
        return hmac.new(self.hash_key, message, hashlib.sha256).hexdigest()

    def search_token(self, piece: str, context: str) -> int:
        """A keyed 64-bit token of one piece of an already normalised value (a blind index entry).

        64 bits keep the index small; two pieces of one station share a token by chance with a
        probability near 2**-64 per pair, which matters no more than a hash collision would.
        """
        digest = hmac.digest(self.hash_key, f"{context}|{piece}".encode(), "sha256")
        return int.from_bytes(digest[:8], "big", signed=True)

    def for_customer(self, customer_id: uuid.UUID, material: bytes) -> PIICipher:
        """The cipher of one customer's audit texts (:mod:`conjure.apps.ops.customer_keys`).

        HKDF keyed by the customer's random ``material`` (the salt) over this cipher's key (the
        input): the stored row alone lacks the master key, the master key alone lacks the row, so
        deleting the row (erasure) leaves what it sealed unreadable for good. The customer's id is
        in the info: material copied to another customer derives another key.
        """

        def derive(purpose: bytes) -> bytes:
            info = b"conjure-ops-customer-" + purpose + b":" + customer_id.bytes
            return HKDF(algorithm=hashes.SHA256(), length=32, salt=material, info=info).derive(self.enc_key)

        return PIICipher(derive(b"enc"), derive(b"hash"))


@dataclass(frozen=True)
class CustomerCipher:
    """One customer's cipher (:meth:`PIICipher.for_customer`) and whose it is."""

    customer_id: uuid.UUID
    cipher: PIICipher


_CACHE: dict[bytes, PIICipher] = {}


def cipher_for(settings: Settings) -> PIICipher:
    """The process's cipher for these settings (derived once per key)."""
    configured = settings.for_app(OpsSettings).ops_pii_key
    if configured is not None and configured.get_secret_value():
        master = _decode_key(configured.get_secret_value())
    elif settings.is_production:
        raise PIIKeyMissing("Set OPS_PII_KEY (32 bytes, base64) to store customer data in production.")
    else:
        master = hashlib.sha256(b"ops-pii|" + settings.signing_secret.encode()).digest()
    found = _CACHE.get(master)
    if found is None:
        found = _CACHE[master] = PIICipher(_subkey(master, b"enc"), _subkey(master, b"hash"))
    return found


# A backfill: the select of the rows it still has to do, and what does a batch of them.
Rows = Sequence[Row[*tuple[Any, ...]]]
Backfill = tuple[Select[*tuple[Any, ...]], Callable[[AsyncSession, PIICipher, Rows], Awaitable[None]]]


async def in_batches(runtime: AppRuntime, *backfills: Backfill) -> int:
    """Run each backfill a transaction per batch of :data:`PENDING_BATCH` rows (locked, skipping
    rows another worker holds) until a batch comes short, all within :data:`PENDING_BUDGET_SECONDS`;
    how many rows."""
    done = 0
    until = time.monotonic() + PENDING_BUDGET_SECONDS
    for pending, apply in backfills:
        while time.monotonic() < until:
            async with runtime.db.session() as session:
                batch = pending.limit(PENDING_BATCH).with_for_update(skip_locked=True)
                rows = (await session.execute(batch)).all()
                if rows:  # only now the key: with nothing to do, an unused ops app needs no OPS_PII_KEY
                    await apply(session, cipher_for(runtime.settings), rows)
            done += len(rows)
            if len(rows) < PENDING_BATCH:
                break
    return done
