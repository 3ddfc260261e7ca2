"""Sentry error tracking, on when ``SENTRY_DSN`` is set: unhandled API errors, crashed handlers and
dead-lettered jobs, with the release and environment as tags and personal data scrubbed.

What never leaves: request bodies and cookies, frame locals, exception messages (they may quote a
question or a prompt; the type and stack trace remain), users' emails and IP addresses, and
any value under a key that holds user content or a secret (the log redaction's
:data:`conjure.observability.logging.SENSITIVE_KEYS`: questions, prompts, tokens …); emails and
bearer tokens inside any remaining string are masked too (:func:`scrub_event`). Log lines do not
become events or breadcrumbs: the job engine reports what matters explicitly
(:func:`report_job_failure`, :func:`report_exception`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import structlog

from conjure import __version__
from conjure.observability.logging import SENSITIVE_KEYS

if TYPE_CHECKING:
    from conjure.settings import Settings

log = structlog.get_logger("conjure.observability")
REDACTED = "[redacted]"
# Keys beyond the log list that carry personal data in Sentry's own event shape.
_PERSONAL_KEYS = SENSITIVE_KEYS | {"email", "emails", "ip_address", "cookies", "data", "body", "payload"}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)(bearer\s+)[\w.~+/=-]+")


class _State:
    enabled = False


def errors_enabled() -> bool:
    return _State.enabled


def configure_errors(settings: Settings, *, role: str) -> bool:
    """Start the Sentry client for this process (``role``: api, worker, up), once."""
    if settings.sentry_dsn is None or not settings.sentry_dsn.get_secret_value():
        return False
    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        release=settings.sentry_release or f"conjure@{__version__}",
        environment=settings.environment,
        include_local_variables=False,  # frame locals hold questions and prompts (PII is off by default)
        max_request_body_size="never",
        # Logs are structlog's (JSON lines, already redacted); events are reported explicitly.
        integrations=[LoggingIntegration(level=None, event_level=None)],
        # Not the framework integrations: importing every one costs seconds at start-up, and the
        # API's unhandled errors are reported by ObserveMiddleware, which renders them as 500s.
        auto_enabling_integrations=False,
        before_send=_before_send,
        before_breadcrumb=_before_breadcrumb,
    )
    sentry_sdk.set_tag("role", role)
    _State.enabled = True
    log.info("error_tracking_enabled", role=role)
    return True


def report_job_failure(*, job_id: str, kind: str, status: str, code: str | None, attempts: int) -> None:
    """One event for a job that reached the DLQ or failed unexpectedly (no payload, no user)."""
    if not _State.enabled:
        return
    import sentry_sdk

    with sentry_sdk.new_scope() as scope:
        scope.set_tag("job_id", job_id)
        scope.set_tag("job_kind", kind)
        scope.set_tag("job_status", status)
        scope.set_tag("error_code", code or "unknown")
        scope.set_context("job", {"id": job_id, "kind": kind, "status": status, "attempts": attempts})
        # One issue per kind and code, not one per job.
        scope.fingerprint = ["job", status, kind, code or "unknown"]
        sentry_sdk.capture_message(f"Job {kind} ended as {status} ({code or 'unknown'})", level="error")


def report_exception(exc: BaseException, **tags: str) -> None:
    """Something unexpected: a job handler crashed (``job_id``, ``job_kind``) or a request
    answered 500 (``route``, ``method``, ``request_id``); the traceback with these tags."""
    if not _State.enabled:
        return
    import sentry_sdk

    with sentry_sdk.new_scope() as scope:
        for key, value in tags.items():
            scope.set_tag(key, value)
        sentry_sdk.capture_exception(exc)


def flush(timeout: float = 2.0) -> None:
    """Send what is queued (at shutdown, and in tests)."""
    if _State.enabled:
        import sentry_sdk

        sentry_sdk.flush(timeout)


def close_errors(timeout: float = 2.0) -> None:
    """Send what is queued and stop the client (a process's shutdown; tests)."""
    if not _State.enabled:
        return
    import sentry_sdk

    sentry_sdk.get_client().close(timeout=timeout)
    _State.enabled = False


def scrub_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event with personal data and secrets taken out (see the module docstring)."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie", "x-api-key")
            }
    # An exception's message can quote anything it was handed (a question, a prompt): the type
    # and the stack trace say where it broke, and they are what Sentry groups by.
    for value in (event.get("exception") or {}).get("values") or []:
        if isinstance(value, dict) and value.get("value"):
            value["value"] = REDACTED
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    scrubbed: dict[str, Any] = _scrub(event)
    return scrubbed


def _scrub(value: Any, key: str = "") -> Any:
    if key.lower() in _PERSONAL_KEYS and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, dict):
        return {k: _scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return _BEARER.sub(r"\1" + REDACTED, _EMAIL.sub(REDACTED, value))
    return value


def _before_send(event: Any, _hint: Any) -> Any:
    return scrub_event(event)


def _before_breadcrumb(crumb: Any, _hint: Any) -> Any:
    return _scrub(crumb)
