"""Replies out through each channel's send API (``conjure.channels.outbound``), after commit.

The platform's channels package lands with another branch; it is looked up when a reply is
sent, so the inbox works (and records the reply) before it exists: the reply is then kept
``local`` and logged. A send that fails is logged and marked on the message; the text is
committed either way, so a member can see what was meant to go out and send it again.
"""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import structlog

from conjure.apps.ops import texts
from conjure.apps.ops.crypto import cipher_for
from conjure.apps.ops.models import InboxMessage
from conjure.db import Database
from conjure.settings import Settings

log = structlog.get_logger("conjure.apps.ops.outbound")


def _channels_outbound() -> Any | None:
    try:
        return importlib.import_module("conjure.channels.outbound")
    except ModuleNotFoundError:
        return None


async def deliver(
    db: Database, settings: Settings, message_id: uuid.UUID, channel: str, from_address: str, to_address: str
) -> None:
    """Send one stored outbound message; record the provider's id (or the failure) on it."""
    module = _channels_outbound()
    if module is None:
        log.info("ops_outbound_local", channel=channel, message_id=str(message_id))
        return
    async with db.session() as session:
        stored = await session.get(InboxMessage, message_id)
        assert stored is not None  # committed just before this runs
        text = texts.MESSAGE.read(cipher_for(settings), stored)
    try:
        provider_id = str(await module.send_message(settings, channel, from_address, to_address, text))
    except Exception as exc:
        log.warning("ops_outbound_failed", channel=channel, error_type=type(exc).__name__)
        provider_id = f"failed:{message_id}"
    async with db.session() as session:
        message = await session.get(InboxMessage, message_id)
        if message is not None:
            message.provider_message_id = provider_id
