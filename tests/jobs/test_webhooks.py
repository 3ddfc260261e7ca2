"""Completion webhooks: signed with HMAC, sent to a real local receiver; private targets refused."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from conjure.jobs.models import JobStatus
from conjure.jobs.webhooks import SIGNATURE_HEADER, WebhookNotAllowed, deliver, validate_webhook_url
from tests.factories import make_user
from tests.jobs.conftest import MakeRuntime, running, submit, wait_status, wait_until
from tests.receivers import Receiver


async def test_webhook_is_called_once_with_a_valid_signature(
    make_runtime: MakeRuntime, sqlite_url: str, receiver: Receiver
) -> None:
    runtime = await make_runtime(
        database_url=sqlite_url, job_webhook_allow_private=True, job_webhook_secret="whsec-test"
    )
    user = await make_user(runtime)
    job = await submit(runtime, "t.noop", {"n": 7}, user=user, webhook_url=receiver.url)
    async with running(runtime):
        await wait_status(runtime, job.id, JobStatus.SUCCEEDED)

        async def called() -> bool:
            return len(receiver.calls) == 1

        await wait_until(called, 15, "the webhook call")
    headers, body = receiver.calls[0]
    parts = dict(item.split("=", 1) for item in headers[SIGNATURE_HEADER.lower()].split(","))
    expected = hmac.new(b"whsec-test", f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    payload = json.loads(body)
    assert payload["id"] == str(job.id)
    assert payload["status"] == "succeeded"
    assert payload["result"] == {"ok": True, "n": 7}


async def test_private_targets_are_refused(
    make_runtime: MakeRuntime, sqlite_url: str, receiver: Receiver
) -> None:
    for url in ("http://127.0.0.1/x", "http://10.0.0.8/x", "http://[::1]/x", "ftp://example.com/x"):
        with pytest.raises(WebhookNotAllowed):
            validate_webhook_url(url, allow_private=False)
    validate_webhook_url("https://hooks.example.com/x", allow_private=False)
    runtime = await make_runtime(database_url=sqlite_url, job_webhook_secret="whsec-test")
    with pytest.raises(WebhookNotAllowed):
        await submit(runtime, "t.noop", webhook_url=receiver.url)
    job = await submit(runtime, "t.noop")
    # A name that resolves to loopback is refused at send time too.
    assert await deliver(runtime, job.id, receiver.url.replace("127.0.0.1", "localhost")) is False
    assert receiver.calls == []


async def test_webhooks_need_their_own_secret(make_runtime: MakeRuntime, sqlite_url: str) -> None:
    runtime = await make_runtime(database_url=sqlite_url)
    with pytest.raises(WebhookNotAllowed, match="JOB_WEBHOOK_SECRET"):
        await submit(runtime, "t.noop", webhook_url="https://hooks.example.com/x")
