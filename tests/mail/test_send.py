"""``mail.send`` through the real engine: to a local SMTP server, to the outbox, retried while the
server is down, failed at once on a 5xx."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import structlog
from sqlalchemy import select

from conjure.jobs.models import Job, JobAttempt, JobStatus
from conjure.jobs.worker import start_embedded
from conjure.mail.service import SEND_KIND, Email, queue_email
from conjure.mail.transport import outbox_dir
from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.mail.smtp import Mailbox, loopback_certificate, start_smtp
from tests.servers import free_port

LINK = "https://conjure.example/reset-password#token=secret-token-123"
EMAIL = Email(to="somchai@example.com", subject="รีเซ็ตรหัสผ่าน", text=f"Open this link: {LINK}\n")


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await Runtime.start(settings)
    stop = await start_embedded(runtime)
    try:
        yield runtime
    finally:
        await stop()
        await runtime.close()


async def _queue(runtime: Runtime, email: Email = EMAIL) -> uuid.UUID:
    async with runtime.db.session() as session:
        await queue_email(session, runtime, email)
        job_id = await session.scalar(select(Job.id).where(Job.kind == SEND_KIND))
    assert job_id is not None
    return job_id


async def _ended(runtime: Runtime, job_id: uuid.UUID, timeout: float = 20) -> Job:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with runtime.db.session() as session:
            job = await session.get(Job, job_id)
        assert job is not None
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DLQ):
            return job
        assert asyncio.get_running_loop().time() < deadline, f"job still {job.status}"
        await asyncio.sleep(0.05)


async def _failed_tries(runtime: Runtime, job_id: uuid.UUID, count: int, timeout: float = 15) -> list[str]:
    """The error codes of the job's failed tries, once there are ``count`` (the job still running)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with runtime.db.session() as session:
            rows = await session.scalars(
                select(JobAttempt.error_code).where(
                    JobAttempt.job_id == job_id, JobAttempt.success.is_(False)
                )
            )
            codes = [str(code) for code in rows]
            status = await session.scalar(select(Job.status).where(Job.id == job_id))
        assert status not in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DLQ)
        if len(codes) >= count:
            return codes
        assert asyncio.get_running_loop().time() < deadline, codes
        await asyncio.sleep(0.02)


async def test_an_email_reaches_the_smtp_server_with_its_login_and_its_payload_is_emptied(
    backend: dict[str, str], make_settings: Callable[..., Settings]
) -> None:
    mailbox, port = Mailbox(), free_port()
    controller = start_smtp(mailbox, port)
    settings = make_settings(
        **backend,
        mail_url=f"smtp://relay%40example.com:p%3Ass@127.0.0.1:{port}",
        mail_from="Conjure <hi@conjure.example>",
    )
    try:
        async with running(settings) as runtime:
            job = await _ended(runtime, await _queue(runtime))
    finally:
        controller.stop()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result == {"transport": "smtp"}
    assert job.payload == {}  # the link is not kept once delivered
    assert mailbox.logins == [("relay@example.com", "p:ss")]
    [message] = mailbox.messages
    assert message["To"] == "somchai@example.com"
    assert message["From"] == "Conjure <hi@conjure.example>"
    assert message["Subject"] == "รีเซ็ตรหัสผ่าน"
    assert message["Message-ID"] == f"<{job.id}@conjure.example>"
    assert LINK in message.get_content()


async def test_without_mail_url_the_email_is_an_eml_file_and_the_log_says_where_not_what(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    settings = make_settings(database_url=sqlite_url)
    with structlog.testing.capture_logs() as logs:
        async with running(settings) as runtime:
            job = await _ended(runtime, await _queue(runtime))
    assert job.status == JobStatus.SUCCEEDED
    assert job.result == {"transport": "outbox"}
    [path] = list(outbox_dir(settings).iterdir())
    assert path.suffix == ".eml"
    assert LINK in path.read_text()
    [line] = [entry for entry in logs if entry["event"] == "mail_written_to_outbox"]
    assert line["path"] == str(path)
    assert not [entry for entry in logs if "secret-token-123" in repr(entry)]


async def test_a_refused_connection_is_retried_until_the_server_is_up(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    mailbox, port = Mailbox(), free_port()  # nothing listens there yet: connection refused
    settings = make_settings(database_url=sqlite_url, mail_url=f"smtp://127.0.0.1:{port}")
    controller = None
    try:
        async with running(settings) as runtime:
            job_id = await _queue(runtime)
            assert await _failed_tries(runtime, job_id, 2) == ["smtp_unreachable", "smtp_unreachable"]
            controller = start_smtp(mailbox, port)
            job = await _ended(runtime, job_id)
    finally:
        if controller is not None:
            controller.stop()
    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts >= 3
    assert len(mailbox.messages) == 1


async def test_a_5xx_reply_fails_the_email_at_once(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    mailbox, port = Mailbox(rcpt_reply="550 No such user"), free_port()
    controller = start_smtp(mailbox, port)
    settings = make_settings(database_url=sqlite_url, mail_url=f"smtp://127.0.0.1:{port}")
    try:
        async with running(settings) as runtime:
            job = await _ended(runtime, await _queue(runtime))
    finally:
        controller.stop()
    assert job.status == JobStatus.FAILED
    assert job.attempts == 1
    assert job.error_code == "recipient_refused"
    assert mailbox.messages == []


async def test_a_4xx_reply_is_retried(make_settings: Callable[..., Settings], sqlite_url: str) -> None:
    mailbox, port = Mailbox(rcpt_reply="451 Try again later"), free_port()
    controller = start_smtp(mailbox, port)
    settings = make_settings(database_url=sqlite_url, mail_url=f"smtp://127.0.0.1:{port}")
    try:
        async with running(settings) as runtime:
            job_id = await _queue(runtime)
            assert set(await _failed_tries(runtime, job_id, 1)) == {"recipient_refused"}
            mailbox.rcpt_reply = "250 OK"
            job = await _ended(runtime, job_id)
    finally:
        controller.stop()
    assert job.status == JobStatus.SUCCEEDED
    assert len(mailbox.messages) == 1


def test_production_without_mail_url_warns_at_start_up(make_settings: Callable[..., Settings]) -> None:
    from conjure.mail.transport import warn_if_unconfigured

    with structlog.testing.capture_logs() as logs:
        warn_if_unconfigured(make_settings(environment="production"))
        warn_if_unconfigured(make_settings(environment="production", mail_url="smtp://mail.example:587"))
        warn_if_unconfigured(make_settings())
    assert [entry["event"] for entry in logs] == ["mail_not_configured"]


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
async def test_the_login_goes_over_tls_by_starttls_or_smtps(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scheme: str,
) -> None:
    # The server refuses AUTH and mail before STARTTLS (smtp) or speaks TLS at once (smtps); the
    # client verifies its certificate against SSL_CERT_FILE, as against the system's CAs.
    context, cert = loopback_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    mailbox, port = Mailbox(), free_port()
    tls = {"starttls": context} if scheme == "smtp" else {"implicit": context}
    controller = start_smtp(mailbox, port, **tls)
    settings = make_settings(database_url=sqlite_url, mail_url=f"{scheme}://relay:secret@127.0.0.1:{port}")
    try:
        async with running(settings) as runtime:
            job = await _ended(runtime, await _queue(runtime))
    finally:
        controller.stop()
    assert job.status == JobStatus.SUCCEEDED
    assert mailbox.logins == [("relay", "secret")]
    assert len(mailbox.messages) == 1


async def test_a_certificate_the_client_does_not_trust_is_not_sent_to(
    make_settings: Callable[..., Settings], sqlite_url: str, tmp_path: Path
) -> None:
    context, _ = loopback_certificate(tmp_path)  # not in SSL_CERT_FILE: unknown to the client
    mailbox, port = Mailbox(), free_port()
    controller = start_smtp(mailbox, port, implicit=context)
    settings = make_settings(database_url=sqlite_url, mail_url=f"smtps://relay:secret@127.0.0.1:{port}")
    try:
        async with running(settings) as runtime:
            codes = await _failed_tries(runtime, await _queue(runtime), 1)
    finally:
        controller.stop()
    assert set(codes) == {"smtp_unreachable"}  # retried later, never sent in the clear
    assert mailbox.logins == []
    assert mailbox.messages == []
