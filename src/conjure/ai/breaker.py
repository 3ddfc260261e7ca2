"""A circuit breaker per model provider, so a provider that keeps failing is skipped, not hammered.

States: ``closed`` (calls go through) → ``open`` after ``AI_BREAKER_FAILURES`` consecutive
transient failures (429, 5xx, timeouts, connection trouble) → ``half_open`` once
``AI_BREAKER_COOLDOWN_SECONDS`` have passed, letting one trial call through → ``closed`` when
that trial succeeds, ``open`` again (a fresh cooldown) when it fails.

The state is per process, not shared through Redis: each worker learns on its own, and one
that has not seen the failures yet spends at most ``AI_BREAKER_FAILURES`` calls to learn them.
Everything runs on the event loop's thread, so no lock is needed. The AI chain keeps one breaker
on each provider slot (:mod:`conjure.ai.providers`); other callers (the image providers) take
one from :func:`breaker_for`. Both are kept per event loop, so separate loops (tests) never
share one.

Each change of state is logged on one line (WARNING when it opens) and shown by the
``conjure_model_breaker_state`` gauge (0 closed, 1 half-open, 2 open).

A job that finds every provider it needs behind an open breaker was not tried at all: it raises
:func:`deferral` (a :class:`conjure.jobs.registry.JobDeferred`), so the engine delays it until the
first breaker lets a trial call through *without spending an attempt* and without charging
(``conjure.jobs.parking``), at most ``JOB_MAX_FREE_DELAYS`` times per job; after that such a
delay counts as an ordinary retryable failure, so an outage that never ends still reaches the DLQ.
Beyond the model providers, every outside service a call can wait on has a breaker of its own
(:data:`SERVICES`: ``image``, ``speech``, ``replicate``, ``stripe``), taken from
:func:`breaker_for` with its ``service``; all of them show in ``conjure_provider_breaker_state``
{provider, service}, ``conjure_provider_breaker_opened_total``, and as ``/ready`` warnings while
open (:func:`breaker_warnings`). A job's call goes through :func:`guard_job_call` (an open
breaker is a retry after its cooldown); a request's through :func:`guard_call` (503 with
``Retry-After``).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import structlog

from conjure.errors import ConjureError
from conjure.jobs.registry import JobDeferred
from conjure.observability.metrics import (
    MODEL_BREAKER_STATE,
    PROVIDER_BREAKER_OPENED,
    PROVIDER_BREAKER_STATE,
)
from conjure.settings import Settings

T = TypeVar("T")
# The kinds of outside service a breaker guards (the ``service`` label).
SERVICES = ("model", "image", "speech", "replicate", "stripe")

log = structlog.get_logger("conjure.ai")

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
_GAUGE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


class CircuitBreaker:
    """One provider's breaker; ``clock`` is injectable (seconds, monotonic) for tests."""

    def __init__(
        self,
        provider: str,
        *,
        failures: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
        service: str = "model",
    ) -> None:
        self.provider = provider
        self.service = service
        self.threshold = max(1, failures)
        self.cooldown = max(0.0, cooldown)
        self.clock = clock
        self.state = CLOSED
        self.consecutive = 0  # transient failures in a row while closed
        self.opened_at = 0.0
        self.trial_started: float | None = None  # the half-open trial call in flight, if any
        MODEL_BREAKER_STATE.labels(provider).set(_GAUGE[CLOSED])
        PROVIDER_BREAKER_STATE.labels(provider, service).set(_GAUGE[CLOSED])
        _register(self)

    def allow(self) -> bool:
        """Whether a call may go to the provider now (in half-open, only the one trial call)."""
        if self.state == CLOSED:
            return True
        now = self.clock()
        if self.state == OPEN:
            if now - self.opened_at < self.cooldown:
                return False
            self._move(HALF_OPEN)
        # A trial that never reported back (its task was canceled) must not wedge the breaker:
        # after another cooldown a new trial may go.
        if self.trial_started is not None and now - self.trial_started < self.cooldown:
            return False
        self.trial_started = now
        return True

    def remaining(self) -> float:
        """Seconds until a call may go through again (0 when one may go now)."""
        if self.state == CLOSED:
            return 0.0
        since = self.opened_at if self.trial_started is None else self.trial_started
        return max(0.0, self.cooldown - (self.clock() - since))

    def record_success(self) -> None:
        """The provider answered (anything but a transient failure): close, reset the count."""
        self.consecutive = 0
        self.trial_started = None
        if self.state != CLOSED:
            self._move(CLOSED)

    def record_failure(self) -> None:
        """A transient failure: count it while closed; a failed trial opens the breaker again."""
        self.trial_started = None
        if self.state == HALF_OPEN:
            self._open()
            return
        self.consecutive += 1
        if self.state == CLOSED and self.consecutive >= self.threshold:
            self._open()

    def _open(self) -> None:
        self.opened_at = self.clock()
        self._move(OPEN)

    def _move(self, state: str) -> None:
        previous, self.state = self.state, state
        MODEL_BREAKER_STATE.labels(self.provider).set(_GAUGE[state])
        PROVIDER_BREAKER_STATE.labels(self.provider, self.service).set(_GAUGE[state])
        if state == OPEN:
            PROVIDER_BREAKER_OPENED.labels(self.provider, self.service).inc()
            log.warning(
                "model_breaker_open",
                provider=self.provider,
                previous=previous,
                failures=self.consecutive,
                cooldown_seconds=self.cooldown,
            )
        else:
            log.info("model_breaker_state", provider=self.provider, state=state, previous=previous)


_BREAKERS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, int, float], CircuitBreaker]
] = weakref.WeakKeyDictionary()


def breaker_for(provider: str, settings: Settings, *, service: str = "model") -> CircuitBreaker:
    """The running loop's breaker for ``provider`` (a gauge label, e.g. ``image-openai``), made
    from ``AI_BREAKER_FAILURES`` and ``AI_BREAKER_COOLDOWN_SECONDS`` on first use."""
    breakers = _BREAKERS.setdefault(asyncio.get_running_loop(), {})
    key = (provider, settings.ai_breaker_failures, settings.ai_breaker_cooldown_seconds)
    found = breakers.get(key)
    if found is None:
        found = breakers[key] = CircuitBreaker(
            provider,
            failures=settings.ai_breaker_failures,
            cooldown=settings.ai_breaker_cooldown_seconds,
            service=service,
        )
    return found


def deferral(code: str, message: str, remaining: Iterable[float]) -> JobDeferred:
    """What a job raises when every provider it needs is behind an open breaker (``remaining``:
    each one's seconds until a trial call may go): come back when the first lets one through
    (at least a second), without spending an attempt."""
    return JobDeferred(code, message, retry_after=max(min(remaining, default=1.0), 1.0))


# Every breaker this process made (the provider slots' and breaker_for's), for /ready: by the
# event loop it was made in (a process runs one; a loop's breakers go with it, as breaker_for's do).
_ALL: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakSet[CircuitBreaker]] = (
    weakref.WeakKeyDictionary()
)
_OUTSIDE_LOOP: weakref.WeakSet[CircuitBreaker] = weakref.WeakSet()


def _register(breaker: CircuitBreaker) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _OUTSIDE_LOOP.add(breaker)
        return
    _ALL.setdefault(loop, weakref.WeakSet()).add(breaker)


def breaker_warnings() -> list[str]:
    """One sentence per breaker of this process that is open or half-open (``/ready`` warnings)."""
    try:
        mine = list(_ALL.get(asyncio.get_running_loop(), ()))
    except RuntimeError:
        mine = []
    candidates = [*mine, *_OUTSIDE_LOOP]
    found = sorted((b for b in candidates if b.state != CLOSED), key=lambda b: (b.service, b.provider))
    return [
        f"circuit breaker for {b.service} provider {b.provider!r} is {b.state.replace('_', '-')}"
        f" (retry in {b.remaining():.0f} s)"
        for b in found
    ]


class ProviderUnavailable(ConjureError):
    """503: an outside provider's breaker is open; try again after ``Retry-After`` seconds."""

    code = "provider_unavailable"
    status = 503


async def guard_call(
    breaker: CircuitBreaker,
    call: Callable[[], Awaitable[T]],
    *,
    transient: Callable[[BaseException], bool],
    what: str = "The provider",
) -> T:
    """Run ``call`` through ``breaker`` for a request: refused with 503 and ``Retry-After`` while
    open; a failure ``transient`` calls an outage is counted, any other answer closes the breaker."""
    if not breaker.allow():
        wait = max(1, round(breaker.remaining()))
        raise ProviderUnavailable(
            f"{what} is unavailable right now; try again in {wait} s.", headers={"Retry-After": str(wait)}
        )
    return await _through(breaker, call, transient)


async def guard_job_call(
    breaker: CircuitBreaker,
    call: Callable[[], Awaitable[T]],
    *,
    transient: Callable[[BaseException], bool],
    what: str = "The provider",
) -> T:
    """:func:`guard_call` for a job handler: while open, the job waits for the cooldown to end
    without spending an attempt (:func:`deferral`)."""
    if not breaker.allow():
        raise deferral(
            "provider_unavailable", f"{what} keeps failing; retrying later.", [breaker.remaining()]
        )
    return await _through(breaker, call, transient)


async def _through(
    breaker: CircuitBreaker, call: Callable[[], Awaitable[T]], transient: Callable[[BaseException], bool]
) -> T:
    try:
        result = await call()
    except Exception as exc:
        if transient(exc):
            breaker.record_failure()
        else:
            breaker.record_success()  # it answered: a refusal is not an outage
        raise
    except BaseException:
        breaker.trial_started = None  # canceled: neither outcome; another trial may go
        raise
    breaker.record_success()
    return result
