"""Replicate's image-edit models through its HTTP predictions API, completed by webhook or by polling.

A prediction is created with ``webhook`` and ``webhook_events_filter: ["completed"]``
and recorded in ``staging_predictions``; then the job *parks* (``ctx.park``,
:mod:`conjure.jobs.parking`): it gives its worker slot back while the model runs. The
webhook route records the prediction's end and resumes the job; a job that heard nothing
by its poll time (``STAGING_WEBHOOK_GRACE_SECONDS``, then growing intervals from
``STAGING_POLL_INTERVAL_SECONDS``) is woken by the scheduler, asks Replicate once and parks
again, until ``STAGING_WAIT_DEADLINE_SECONDS`` (then ``callback_timeout``). A retried attempt
picks up the prediction an earlier attempt started instead of paying for a second one.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from sqlalchemy import select

from conjure.apps.staging.models import Prediction
from conjure.apps.staging.providers import StagedResult, StagingRequest, staging_prompt
from conjure.apps.staging.settings import StagingSettings
from conjure.apps.staging.webhooks import DONE, record_prediction_end, record_prediction_start
from conjure.jobs.registry import PermanentJobError, RetryableJobError
from conjure.jobs.retry import retry_after_of

if TYPE_CHECKING:
    from conjure.apps.staging.resources import JobResources
    from conjure.jobs.registry import JobContext

log = structlog.get_logger("conjure.apps.staging")
MAX_POLL_HICCUPS = 3  # transient errors in a row while polling before the attempt is retried
MAX_POLL_INTERVAL_SECONDS = 30.0


def refused(status: int, code: str, message: str) -> PermanentJobError:
    """A refusal no retry fixes: the job fails at once, and the operator is told (ERROR, no prompt)."""
    log.error("staging_provider_refused", provider="replicate", status=status, code=code)
    return PermanentJobError(code, message)


def is_transient(status: int) -> bool:
    return status in (408, 409, 425, 429) or status >= 500


class ReplicateStaging:
    """``qwen/qwen-image-edit`` (standard) or ``black-forest-labs/flux-kontext-max`` (high)."""

    name = "replicate"

    def __init__(self, settings: StagingSettings) -> None:
        self.settings = settings

    def model_for(self, quality: str) -> tuple[str, float]:
        s = self.settings
        if quality == "high":
            return s.staging_model_high, s.staging_cost_usd_high
        return s.staging_model_standard, s.staging_cost_usd_standard

    @staticmethod
    def model_input(model: str, request: StagingRequest) -> dict[str, Any]:
        prompt = staging_prompt(request.room_type, request.style)
        if "kontext" in model:
            return {"prompt": prompt, "input_image": request.photo_url, "output_format": "jpg"}
        return {"prompt": prompt, "image": request.photo_url, "output_format": "jpg", "go_fast": True}

    async def stage(self, ctx: JobContext, res: JobResources, request: StagingRequest) -> StagedResult:
        """Start (or pick up) the prediction, then wait for it parked; returns only once it ended."""
        model, _ = self.model_for(request.quality)
        async with self.api_client() as client:
            prediction_id = await self._resume(res, ctx) or await self._create(
                client, ctx, res, model, request
            )
            now = time.time()
            grace = self.settings.staging_webhook_grace_seconds
            checkpoint = {
                "prediction_id": prediction_id,
                "quality": request.quality,
                "poll_at": now + grace,
                "deadline": now + self.settings.staging_wait_deadline_seconds,
                "polls": 0,
                "hiccups": 0,
            }
            return await self._finish_or_park(client, ctx, res, checkpoint)

    async def resume(
        self, ctx: JobContext, res: JobResources, checkpoint: dict[str, Any]
    ) -> StagedResult | None:
        """A parked job's next run (its webhook came, or its poll time): finish, or park again.

        None when the checkpoint is stale and the run must start over: a job run again after it
        ended (a DLQ re-drive, an operator's retry) finds its prediction canceled by the sweep
        (:func:`conjure.apps.staging.cleanup.cancel_abandoned_predictions`) or its wait run out.
        Starting over still picks up a prediction that may yet succeed (:meth:`_resume`).
        """
        prediction_id = str(checkpoint["prediction_id"])
        async with res.db.session() as session:
            row = await session.get(Prediction, prediction_id)
        ended = row is not None and row.completed_at is not None
        if ended and row is not None and row.status in ("canceled", "aborted"):
            return None
        if not ended and time.time() >= float(checkpoint["deadline"]):
            return None
        async with self.api_client() as client:
            return await self._finish_or_park(client, ctx, res, dict(checkpoint))

    def api_client(self) -> httpx.AsyncClient:
        token = self.settings.replicate_api_token
        if token is None:
            raise PermanentJobError("provider_not_configured", "REPLICATE_API_TOKEN is not set.")
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        timeout = httpx.Timeout(self.settings.staging_call_timeout_seconds, connect=10.0)
        base = self.settings.replicate_base_url.rstrip("/")
        return httpx.AsyncClient(base_url=base, headers=headers, timeout=timeout)

    async def _finish_or_park(
        self, client: httpx.AsyncClient, ctx: JobContext, res: JobResources, checkpoint: dict[str, Any]
    ) -> StagedResult:
        prediction_id = str(checkpoint["prediction_id"])
        finished = await self._ended(res, prediction_id)
        now = time.time()
        if finished is None and now >= float(checkpoint["poll_at"]):
            # No webhook within the grace period (or since the last look): ask Replicate once.
            checkpoint["hiccups"] = await self._poll(client, res, prediction_id, int(checkpoint["hiccups"]))
            finished = await self._ended(res, prediction_id)
            polls = int(checkpoint["polls"]) + 1
            interval = self.settings.staging_poll_interval_seconds * 2 ** min(polls - 1, 16)
            checkpoint.update(polls=polls, poll_at=now + min(interval, MAX_POLL_INTERVAL_SECONDS))
        if finished is None:
            # The model runs on Replicate's side: wait without a worker until its webhook (or poll time).
            await ctx.park(
                poll_after=float(checkpoint["poll_at"]) - now,
                deadline=dt.datetime.fromtimestamp(float(checkpoint["deadline"]), dt.UTC),
                checkpoint=checkpoint,
            )
        model, cost = self.model_for(str(checkpoint.get("quality", "standard")))
        url = _output_url(finished)
        timeout = httpx.Timeout(self.settings.staging_call_timeout_seconds, connect=10.0)
        # A client of its own: the output lives on a CDN that must not see our API token.
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as plain:
            data = await _download(plain, url, self.settings.staging_max_download_bytes)
        return StagedResult(data=data, model=finished.model or model, cost_usd=cost)

    @staticmethod
    async def _ended(res: JobResources, prediction_id: str) -> Prediction | None:
        """The prediction's recorded end (the webhook or a poll wrote it), else None."""
        async with res.db.session() as session:
            row = await session.get(Prediction, prediction_id)
        return row if row is not None and row.completed_at is not None else None

    async def _resume(self, res: JobResources, ctx: JobContext) -> str | None:
        """An earlier attempt's prediction that may still succeed (not failed or canceled)."""
        async with res.db.session() as session:
            rows = await session.execute(
                select(Prediction.id, Prediction.status)
                .where(Prediction.job_id == ctx.job_id)
                .order_by(Prediction.created_at.desc())
            )
            for prediction_id, status in rows.all():
                if status not in ("failed", "canceled", "aborted"):
                    return str(prediction_id)
        return None

    def _webhook_url(self, res: JobResources) -> str | None:
        if self.settings.replicate_webhook_secret is None:
            return None  # it could not be verified: poll instead
        base = self.settings.staging_webhook_base_url or res.settings.public_base_url
        return base.rstrip("/") + "/api/v1/webhooks/replicate"

    async def _create(
        self,
        client: httpx.AsyncClient,
        ctx: JobContext,
        res: JobResources,
        model: str,
        request: StagingRequest,
    ) -> str:
        body: dict[str, Any] = {"input": self.model_input(model, request)}
        webhook = self._webhook_url(res)
        if webhook is not None:
            body.update(webhook=webhook, webhook_events_filter=["completed"])
        try:
            response = await client.post(f"/v1/models/{model}/predictions", json=body)
        except httpx.TransportError as exc:
            raise RetryableJobError("provider_unavailable", f"Replicate: {type(exc).__name__}.") from exc
        status = response.status_code
        if status == 402:  # "insufficient credit": waiting will not refill it
            raise refused(status, "provider_quota", "The Replicate account is out of credit.")
        if is_transient(status):
            wait = retry_after_of(response.headers)
            raise RetryableJobError("provider_unavailable", f"Replicate answered {status}.", retry_after=wait)
        if status in (401, 403):
            raise refused(status, "provider_auth", "Replicate refused our credentials.")
        if status not in (200, 201):
            raise refused(status, "provider_rejected", f"Replicate refused the input ({status}).")
        prediction = response.json()
        prediction_id = str(prediction.get("id", ""))
        if not prediction_id:
            raise PermanentJobError("invalid_provider_output", "Replicate returned no prediction id.")
        db = res.db
        async with db.session() as session:
            await record_prediction_start(
                session,
                db.is_sqlite,
                prediction_id=prediction_id,
                job_id=ctx.job_id,
                attempt=ctx.attempt,
                model=model,
            )
        return prediction_id

    async def _poll(
        self, client: httpx.AsyncClient, res: JobResources, prediction_id: str, hiccups: int
    ) -> int:
        """Ask Replicate once; record the end if it ended. Returns the transient errors in a row so far."""
        try:
            response = await client.get(f"/v1/predictions/{prediction_id}")
        except httpx.TransportError:
            response = None
        if response is None or is_transient(response.status_code):
            if hiccups + 1 >= MAX_POLL_HICCUPS:
                raise RetryableJobError("provider_unavailable", "Replicate kept failing while polling.")
            return hiccups + 1
        if response.status_code != 200:
            raise PermanentJobError(
                "provider_rejected", f"Polling Replicate answered {response.status_code}."
            )
        prediction = response.json()
        if prediction.get("status") in DONE:
            async with res.db.session() as session:
                await record_prediction_end(session, res.db.is_sqlite, prediction)
        return 0


def _output_url(prediction: Prediction) -> str:
    if prediction.status != "succeeded":
        reason = prediction.error or "no reason given"
        message = f"The model did not stage the photo ({prediction.status}): {reason}."
        raise PermanentJobError("model_failed", message[:500])
    output = prediction.output
    url = output[0] if isinstance(output, list) and output else output
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise PermanentJobError("invalid_provider_output", "Replicate returned no image URL.")
    return url


async def _download(client: httpx.AsyncClient, url: str, max_bytes: int) -> bytes:
    """The model's output image, size-limited while it streams (Pillow checks it afterwards)."""
    try:
        async with client.stream("GET", url) as response:
            if is_transient(response.status_code):
                raise RetryableJobError(
                    "image_download_unavailable", f"Output download: {response.status_code}."
                )
            if response.status_code != 200:
                raise PermanentJobError("image_download_failed", f"Output download: {response.status_code}.")
            chunks, seen = [], 0
            async for chunk in response.aiter_bytes():
                seen += len(chunk)
                if seen > max_bytes:
                    raise PermanentJobError("image_too_large", "The model's image is too large.")
                chunks.append(chunk)
    except httpx.TransportError as exc:
        raise RetryableJobError(
            "image_download_unavailable", f"Output download: {type(exc).__name__}."
        ) from exc
    return b"".join(chunks)
