"""``POST /api/v1/webhooks/replicate``: Replicate's completion callbacks, verified and applied once.

Replicate signs webhooks the Standard Webhooks way: ``webhook-signature`` holds
``v1,<base64 HMAC-SHA256>`` entries over ``{webhook-id}.{webhook-timestamp}.{body}``,
keyed with the base64 part of ``REPLICATE_WEBHOOK_SECRET`` (``whsec_…``). A request is
refused unless one entry matches and its timestamp is within ± the tolerance (5 min)
of now, both directions (``conjure.webhooks_inbound``, the rule of every signed webhook).
The webhook-id is recorded in the same transaction that
records the prediction's end and resumes the parked job (``conjure.jobs.parking.resume_job``:
queued again and dispatched once this commits), so a redelivery (or a replay of a captured
request) changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from typing import Annotated, Any, cast

import structlog
from fastapi import APIRouter, Header, Request
from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.staging.models import Prediction, ReplicateWebhook
from conjure.apps.staging.settings import StagingSettings
from conjure.db import insert_ignore, utcnow
from conjure.deps import RuntimeDep, SessionDep
from conjure.errors import ConjureError, ServiceUnavailable
from conjure.jobs.parking import resume_job
from conjure.kit.problems import problems
from conjure.webhooks_inbound import InvalidSignature, check_timestamp, hmac_matches

router = APIRouter(prefix="/api/v1/webhooks", tags=["staging"])
log = structlog.get_logger("conjure.apps.staging.webhooks")
DONE = frozenset({"succeeded", "failed", "canceled", "aborted"})


class WebhooksNotConfigured(ServiceUnavailable):
    code = "webhooks_not_configured"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret."""
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhooksNotConfigured("REPLICATE_WEBHOOK_SECRET is not a whsec_ secret.") from exc


def sign(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The ``v1,…`` signature entry Replicate sends for this message."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    secret: str,
    *,
    webhook_id: str,
    timestamp: str,
    signatures: str,
    body: bytes,
    tolerance_seconds: int,
    now: float | None = None,
) -> None:
    """Raise :class:`InvalidSignature` unless a signature matches and the timestamp is recent."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise InvalidSignature("The webhook timestamp is not a number.") from None
    # The platform's rule for every signed inbound webhook: ± the tolerance, both directions.
    check_timestamp(sent_at, tolerance_seconds, source="replicate", now=now)
    message = f"{webhook_id}.{timestamp}.".encode() + body
    entries = [entry.removeprefix("v1,") for entry in signatures.split() if entry.startswith("v1,")]
    if not hmac_matches([secret_key(secret)], message, entries, encoding="base64"):
        raise InvalidSignature("The webhook signature does not match.")


async def _first_delivery(session: AsyncSession, webhook_id: str, prediction_id: str) -> bool:
    values = {"webhook_id": webhook_id, "prediction_id": prediction_id, "received_at": utcnow()}
    return await insert_ignore(session, cast(Table, ReplicateWebhook.__table__), values)


def _insert(is_sqlite: bool, values: dict[str, Any]) -> Any:
    table = cast(Table, Prediction.__table__)
    return (sqlite_insert if is_sqlite else pg_insert)(table).values(**values)


async def record_prediction_start(
    session: AsyncSession, is_sqlite: bool, *, prediction_id: str, job_id: uuid.UUID, attempt: int, model: str
) -> None:
    """Tie a created prediction to its job (its webhook may have been recorded already: kept)."""
    values = {"id": prediction_id, "job_id": job_id, "attempt": attempt, "model": model, "status": "starting"}
    statement = _insert(is_sqlite, {**values, "created_at": utcnow()})
    owner = {"job_id": job_id, "attempt": attempt, "model": model}
    await session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=owner))


async def record_prediction_end(session: AsyncSession, is_sqlite: bool, prediction: dict[str, Any]) -> bool:
    """Store a finished prediction's outcome once (the first report wins); True if this one did.

    A webhook can arrive before the job has written the prediction's row (Replicate is fast,
    the job's insert commits after the create call returns), so the end may come first.
    """
    status = str(prediction.get("status", ""))
    if status not in DONE:
        return False
    now = utcnow()
    end = {
        "status": status,
        "output": prediction.get("output"),
        "error": str(prediction["error"])[:2000] if prediction.get("error") else None,
        "completed_at": now,
    }
    table = cast(Table, Prediction.__table__)
    statement = _insert(is_sqlite, {"id": str(prediction.get("id", ""))[:128], "created_at": now, **end})
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_=end, where=table.c.completed_at.is_(None)
        ).returning(table.c.id)
    )
    return result.first() is not None


@router.post(
    "/replicate",
    responses=problems(
        400,
        422,
        503,
        describe={
            400: "Bad signature, stale or future timestamp, or not JSON "
            "(`invalid_signature`, `malformed_json`)",
            503: "REPLICATE_WEBHOOK_SECRET is not set (`webhooks_not_configured`)",
        },
    ),
)
async def replicate_webhook(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    webhook_id: Annotated[str, Header(max_length=255)],
    webhook_timestamp: Annotated[str, Header(max_length=32)],
    webhook_signature: Annotated[str, Header(max_length=2048)],
) -> dict[str, str]:
    """A prediction finished: record it (once per webhook-id) so the job waiting on it goes on."""
    settings = runtime.settings.for_app(StagingSettings)
    if settings.replicate_webhook_secret is None:
        raise WebhooksNotConfigured("Replicate webhooks are not configured (REPLICATE_WEBHOOK_SECRET).")
    body = await request.body()
    verify(
        settings.replicate_webhook_secret.get_secret_value(),
        webhook_id=webhook_id,
        timestamp=webhook_timestamp,
        signatures=webhook_signature,
        body=body,
        tolerance_seconds=settings.staging_webhook_tolerance_seconds,
    )
    try:
        prediction = json.loads(body)
    except ValueError:
        raise ConjureError("The webhook body is not JSON.", code="malformed_json") from None
    if not isinstance(prediction, dict):
        raise ConjureError("The webhook body is not a prediction.", code="malformed_json")
    prediction_id = str(prediction.get("id", ""))[:128]
    if not await _first_delivery(session, webhook_id, prediction_id):
        return {"status": "duplicate"}
    applied = await record_prediction_end(session, runtime.db.is_sqlite, prediction)
    resumed = False
    if applied:
        # The job that waits on it (none yet if this came before the job recorded the prediction:
        # that job then finds the end itself before it parks).
        job_id = await session.scalar(select(Prediction.job_id).where(Prediction.id == prediction_id))
        if job_id is not None:
            brought = {"prediction_id": prediction_id, "status": str(prediction.get("status", ""))}
            resumed = await resume_job(session, runtime, job_id, brought)
    log.info(
        "replicate_webhook",
        prediction_id=prediction_id,
        status=prediction.get("status"),
        applied=applied,
        resumed=resumed,
    )
    return {"status": "recorded" if applied else "ignored"}
