"""How a messaging provider's failure reads to the job engine (as in conjure.jobs.retry and the AI chain).

- 429, 408, 5xx, a connection failure or a timeout, and the Graph API's throttling and
  "temporarily unavailable" codes (it answers some with a 400) → :class:`ChannelUnavailable`,
  retryable, never sooner than the provider's ``Retry-After``;
- any other 4xx → :class:`ChannelRejected`, permanent: the same request would fail again;
- credentials missing, or refused by the provider's token endpoint → :class:`ChannelNotConfigured`
  (permanent: the operator must act);
- a channel with no send API (Google: replies to reviews go through ``publish_review_reply``)
  → :class:`ChannelCannotSend`.

They are job errors, so an app's job that sends lets the engine retry or fail it as is; a
route that sends raises :func:`problem_for` of one (the same codes as problems: 503 with
``Retry-After``, 502, 503, 422). Messages name the
provider, the status and the provider's error code, never a token or the text sent.
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog

from conjure.errors import ConjureError
from conjure.jobs.registry import JobError, PermanentJobError, RetryableJobError
from conjure.jobs.retry import retry_after_of

log = structlog.get_logger("conjure.channels")

# Graph API error codes that mean "later", whatever the HTTP status: API too many calls (4),
# unknown/temporary errors (1, 2), rate limits (80007, 130429, 131048, 131056), service
# unavailable (131016), and a number in its registration wait (133016).
GRAPH_TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131016, 131048, 131056, 133016})


class ChannelUnavailable(RetryableJobError):
    """The provider is throttling or failing for now; try again (after ``retry_after``)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__("channel_unavailable", message, retry_after=retry_after)


class ChannelRejected(PermanentJobError):
    """The provider refused this request (4xx): resending it unchanged would fail again."""

    def __init__(self, message: str, *, status: int | None = None, provider_code: str | None = None) -> None:
        super().__init__("channel_rejected", message)
        self.status = status
        self.provider_code = provider_code


class ChannelNotConfigured(PermanentJobError):
    """The channel's credentials are missing or refused; the operator must set them."""

    def __init__(self, message: str) -> None:
        super().__init__("channel_not_configured", message)


class ChannelCannotSend(PermanentJobError):
    """The channel has no message-sending API."""

    def __init__(self, message: str) -> None:
        super().__init__("channel_cannot_send", message)


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def provider_code(provider: str, response: httpx.Response) -> str | None:
    """The provider's own error code: Graph's ``error.code``, Google's ``error.status``,
    RingCentral's ``errorCode``."""
    body = _body(response)
    error = body.get("error")
    if provider == "ringcentral":
        code = body.get("errorCode")
    elif isinstance(error, dict):
        code = error.get("code") if provider == "whatsapp" else error.get("status")
    else:
        code = None
    return None if code is None else str(code)[:64]


def raise_for_provider(provider: str, action: str, response: httpx.Response) -> None:
    """Nothing on a 2xx; otherwise the error class above for this answer."""
    if response.is_success:
        return
    status = response.status_code
    code = provider_code(provider, response)
    transient_graph = provider == "whatsapp" and code is not None and code.isdigit()
    transient_graph = transient_graph and int(code or 0) in GRAPH_TRANSIENT_CODES
    log.warning("channel_provider_error", provider=provider, action=action, status=status, code=code)
    if status in (408, 429) or status >= 500 or transient_graph:
        raise ChannelUnavailable(
            f"{provider} {action}: HTTP {status} ({code or 'no code'}); retrying later.",
            retry_after=retry_after_of(response.headers),
        )
    raise ChannelRejected(
        f"{provider} {action} was refused: HTTP {status} ({code or 'no code'}).",
        status=status,
        provider_code=code,
    )


def transport_failure(provider: str, action: str, exc: httpx.HTTPError) -> ChannelUnavailable:
    """A timeout or connection failure: the provider may be fine a moment later."""
    log.warning("channel_provider_unreachable", provider=provider, action=action, error=type(exc).__name__)
    return ChannelUnavailable(f"{provider} {action}: {type(exc).__name__}; retrying later.")


def problem_for(exc: JobError) -> ConjureError:
    """The HTTP problem of a channel error, for a route that sends while the caller waits."""
    if isinstance(exc, ChannelUnavailable):
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))} if exc.retry_after else {}
        return ConjureError(exc.message, code=exc.code, status=503, headers=headers)
    if isinstance(exc, ChannelRejected):
        return ConjureError(
            exc.message, code=exc.code, status=502, extra={"provider_code": exc.provider_code}
        )
    if isinstance(exc, ChannelCannotSend):
        return ConjureError(exc.message, code=exc.code, status=422)
    return ConjureError(exc.message, code=exc.code, status=503)
