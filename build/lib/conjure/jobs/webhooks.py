"""Optional per-job completion callbacks, signed with HMAC and refused for private targets (SSRF)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
import time
import uuid
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import structlog

from conjure.db import after_commit
from conjure.errors import ConjureError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from conjure.runtime import Runtime

log = structlog.get_logger("conjure.jobs.webhooks")
SIGNATURE_HEADER = "Conjure-Signature"
ATTEMPTS = 3
_background: set[asyncio.Task[bool]] = set()  # keep references so tasks are not collected mid-flight


class WebhookNotAllowed(ConjureError):
    code, status = "webhook_not_allowed", 422


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def validate_webhook_url(url: str, *, allow_private: bool, signing_configured: bool = True) -> None:
    """Refuse non-HTTP schemes and literal private/loopback addresses at submit time."""
    if not signing_configured:
        # Signing with JWT_SECRET would force receivers to hold the key that mints access tokens.
        raise WebhookNotAllowed("Job webhooks need JOB_WEBHOOK_SECRET to be set on the server.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise WebhookNotAllowed("The webhook must be an http(s) URL.")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return
    if not allow_private and not _is_public(str(literal)):
        raise WebhookNotAllowed("The webhook may not target a private or loopback address.")


async def _resolves_public(host: str, port: int) -> bool:
    # Checked again at send time: a name may resolve to a private address (or change to one).
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False  # an unresolvable target is refused, not an unhandled task error
    return bool(infos) and all(_is_public(str(info[4][0])) for info in infos)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` (the Stripe scheme)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


async def deliver(runtime: Runtime, job_id: uuid.UUID, url: str) -> bool:
    """POST the job's final view to ``url``; True when the receiver answered 2xx."""
    from conjure.jobs.models import Job
    from conjure.jobs.schemas import JobView

    settings = runtime.settings
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not settings.job_webhook_allow_private and not await _resolves_public(parts.hostname or "", port):
        log.warning("webhook_refused_private_target", job_id=str(job_id))
        return False
    async with runtime.db.session() as session:
        job = await session.get(Job, job_id)
        if job is None:
            return False
        body = json.dumps(JobView.from_job(job).model_dump(mode="json")).encode()
    if settings.job_webhook_secret is None:
        log.warning("webhook_skipped_no_secret", job_id=str(job_id))
        return False
    key = settings.job_webhook_secret.get_secret_value()
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        for attempt in range(1, ATTEMPTS + 1):
            headers = {
                "content-type": "application/json",
                SIGNATURE_HEADER: sign(key, int(time.time()), body),
            }
            try:
                response = await client.post(url, content=body, headers=headers)
                if response.is_success:
                    return True
            except httpx.HTTPError as exc:
                log.warning("webhook_failed", job_id=str(job_id), attempt=attempt, error=type(exc).__name__)
            await asyncio.sleep(0.5 * 2**attempt)
    return False


def schedule_webhook_after_commit(
    session: AsyncSession, runtime: Runtime, job_id: uuid.UUID, url: str | None
) -> None:
    """Once the terminal state is committed, call the job's webhook in the background."""
    if not url:
        return

    async def start() -> None:
        task = asyncio.create_task(deliver(runtime, job_id, url))
        _background.add(task)
        task.add_done_callback(_background.discard)

    after_commit(session, start)
