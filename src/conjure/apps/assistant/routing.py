"""Which model answers: the local model first, the API fallback when it cannot, else offline.

Routing reasons recorded on every answer (``route``):

- ``local``: the local server answered (``local:queued``: after waiting for one of its slots);
- ``fallback:saturated``: the local server had ``ASSISTANT_LOCAL_MAX_CONCURRENCY`` calls in flight
  and the expected wait for a slot was over ``ASSISTANT_LOCAL_MAX_WAIT_MS``, or a message waited
  that long for a slot after all (the expected wait is an average);
- ``fallback:error``: the local server failed before its first token (connection, timeout, 5xx);
- ``fallback:circuit_open``: it failed ``AI_BREAKER_FAILURES`` times in a row and its breaker
  (:mod:`conjure.ai.breaker`) is open; after the cooldown one trial call goes local again, and
  a success closes it (recovery);
- ``fallback:no_local``: no local server is configured;
- ``offline`` / ``offline:local_error``: no model could answer, the offline responder said so.

One :class:`ModelRouter` per runtime's settings (kept on the app's settings object), so its
in-flight count, latency estimate, breaker and warm-up state are the process's own.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import structlog

from conjure.ai.breaker import CircuitBreaker
from conjure.apps.assistant import metrics
from conjure.apps.assistant.fallback import ApiFallback, FallbackUnavailable, fallback_configured
from conjure.apps.assistant.local import LocalModel, LocalModelError
from conjure.apps.assistant.responders import Answer, ChatRequest, OfflineResponder, OnDelta, Responder, Turn
from conjure.apps.assistant.settings import AssistantSettings
from conjure.jobs.registry import RetryableJobError

if TYPE_CHECKING:
    from conjure.settings import Settings

log = structlog.get_logger("conjure.apps.assistant.routing")
WARMING, READY, NOT_CONFIGURED = "warming", "ok", "not_configured"
LATENCY_WEIGHT = 0.2  # the newest local call's share of the moving average of call time


class ModelRouter:
    """Routes each answer to the local model, the API fallback or the offline responder."""

    name = "router"

    def __init__(self, settings: Settings) -> None:
        app = settings.for_app(AssistantSettings)
        self.local = LocalModel(app) if app.assistant_local_base_url else None
        use_fallback = app.assistant_fallback != "none" and fallback_configured(settings)
        self.fallback = ApiFallback(settings) if use_fallback else None
        self.offline = OfflineResponder()
        self.max_concurrency = max(1, app.assistant_local_max_concurrency)
        self.max_wait = app.assistant_local_max_wait_ms / 1000
        self.slots = asyncio.Semaphore(self.max_concurrency)
        self.in_flight = 0
        self.waiting = 0
        self.call_seconds = 1.0  # moving average of a local call; the first calls correct it
        self.breaker = CircuitBreaker(
            "assistant-local",
            failures=settings.ai_breaker_failures,
            cooldown=settings.ai_breaker_cooldown_seconds,
        )
        self.state = NOT_CONFIGURED if self.local is None else WARMING
        self.load_seconds: float | None = None
        self.warm_up_task: asyncio.Task[None] | None = None
        self._born = time.perf_counter()

    # --- answering -------------------------------------------------------------------------

    def expected_wait(self) -> float:
        """Seconds a new local call would wait for a slot (0 while one is free)."""
        if self.in_flight < self.max_concurrency:
            return 0.0
        return (self.waiting + 1) / self.max_concurrency * self.call_seconds

    async def answer(self, request: ChatRequest, on_delta: OnDelta) -> Answer:
        if self.local is None:
            return await self._elsewhere(request, on_delta, "fallback:no_local")
        if not self.breaker.allow():
            return await self._elsewhere(request, on_delta, "fallback:circuit_open")
        if self.fallback is not None and self.expected_wait() > self.max_wait:
            return await self._elsewhere(request, on_delta, "fallback:saturated")
        try:
            return await self._local(request, on_delta, bounded=self.fallback is not None)
        except LocalModelError as exc:
            (self.breaker.record_failure if exc.transient else self.breaker.record_success)()
            log.warning("assistant_local_failed", error=str(exc), started=exc.started)
            if exc.started:
                raise RetryableJobError("model_interrupted", "The model stopped mid-answer.") from exc
            return await self._elsewhere(request, on_delta, "fallback:error")

    async def _local(self, request: ChatRequest, on_delta: OnDelta, bounded: bool = False) -> Answer:
        """The local model; ``bounded``: wait at most ``max_wait`` for one of its slots (the expected
        wait is an average, a given wait can be longer), then go to the fallback after all."""
        assert self.local is not None
        queued = self.in_flight >= self.max_concurrency
        self.waiting += 1
        try:
            if not await self._slot(self.max_wait if bounded and queued else None):
                return await self._elsewhere(request, on_delta, "fallback:saturated")
        finally:
            self.waiting -= 1
        self.in_flight += 1
        metrics.LOCAL_IN_FLIGHT.set(self.in_flight)
        started = time.perf_counter()
        try:
            answer = await self.local.stream(request, on_delta, route="local:queued" if queued else "local")
        finally:
            self.in_flight -= 1
            metrics.LOCAL_IN_FLIGHT.set(self.in_flight)
            self.slots.release()
        elapsed = time.perf_counter() - started
        self.call_seconds += LATENCY_WEIGHT * (elapsed - self.call_seconds)
        self.breaker.record_success()
        self._mark_ready(elapsed)
        self._observe("local", answer, elapsed)
        return answer

    async def _slot(self, within: float | None) -> bool:
        """Take a local slot, waiting at most ``within`` seconds (None: as long as it takes)."""
        if within is None:
            await self.slots.acquire()
            return True
        acquiring = asyncio.ensure_future(self.slots.acquire())
        try:
            await asyncio.wait({acquiring}, timeout=within)
            if not acquiring.done():
                acquiring.cancel()  # it may still have taken the slot meanwhile: wait and see
                await asyncio.wait({acquiring})
        except asyncio.CancelledError:  # the answer itself is canceled: a slot taken goes back
            acquiring.cancel()
            acquiring.add_done_callback(self._give_back)
            raise
        return not acquiring.cancelled()

    def _give_back(self, acquiring: asyncio.Future[Any]) -> None:
        if not acquiring.cancelled():
            self.slots.release()

    async def _elsewhere(self, request: ChatRequest, on_delta: OnDelta, route: str) -> Answer:
        """The API fallback for ``route``; the offline responder when there is none."""
        started = time.perf_counter()
        if self.fallback is not None:
            try:
                answer = await self.fallback.stream(request, on_delta, route=route)
            except FallbackUnavailable as exc:
                log.warning("assistant_fallback_failed", error=str(exc), route=route)
                if exc.started or self.local is None:
                    raise RetryableJobError("model_unavailable", "No model could answer now.") from exc
                if route == "fallback:saturated":
                    return await self._local(request, on_delta)  # wait for the local model after all
                raise RetryableJobError(
                    "model_unavailable",
                    "No model could answer now.",
                    retry_after=self.breaker.remaining() or None,
                ) from exc
            self._observe("fallback", answer, time.perf_counter() - started)
            return answer
        if route == "fallback:saturated" and self.local is not None:
            return await self._local(request, on_delta)
        self.offline.route = "offline" if self.local is None else "offline:local_error"
        answer = await self.offline.answer(request, on_delta)
        self._observe("offline", answer, time.perf_counter() - started)
        return answer

    def _observe(self, side: str, answer: Answer, seconds: float) -> None:
        metrics.ANSWERS.labels(side, answer.route).inc()
        metrics.ANSWER_SECONDS.labels(side).observe(seconds)
        if answer.first_token_ms is not None:
            metrics.FIRST_TOKEN.labels(side).observe(answer.first_token_ms / 1000)

    # --- warm-up -----------------------------------------------------------------------------

    def _mark_ready(self, elapsed: float) -> None:
        if self.state == WARMING:
            self.state = READY
            self.load_seconds = (
                time.perf_counter() - self._born if self.load_seconds is None else self.load_seconds
            )
            metrics.MODEL_LOAD_SECONDS.set(self.load_seconds)
            log.info("assistant_local_model_ready", load_seconds=round(self.load_seconds, 3))

    async def warm_up(self) -> None:
        """One tiny call to the local model: the server loads the model on its first call."""
        if self.fallback is not None:
            self.fallback.prepare()
        if self.local is None or self.state == READY:
            return
        started = time.perf_counter()
        request = ChatRequest(history=[Turn("user", "Say OK.")], max_tokens=1)

        async def ignore(_: str) -> None:
            return None

        try:
            await self.local.stream(request, ignore, route="warm_up")
        except LocalModelError as exc:
            log.warning("assistant_local_model_warming", error=str(exc))
            return
        self.load_seconds = time.perf_counter() - started
        self._mark_ready(self.load_seconds)

    def readiness(self) -> str:
        """``ok``, ``warming`` (a warm-up call is started if none is running) or ``not_configured``."""
        if self.state == WARMING and (self.warm_up_task is None or self.warm_up_task.done()):
            self.warm_up_task = asyncio.get_running_loop().create_task(self.warm_up())
        return self.state


def router_for(settings: Settings) -> ModelRouter | Responder:
    """The process's router (made on first use), or a responder a test put in its place."""
    app = settings.for_app(AssistantSettings)
    if app._responder is None:
        app._responder = ModelRouter(settings)
    found: ModelRouter | Responder = app._responder
    return found


def responder_for(settings: Settings) -> Responder:
    """What answers this process's messages."""
    return router_for(settings)


async def _ignore(_: str) -> None:
    return None


async def ask_in_background(router: ModelRouter, request: ChatRequest, *, route: str) -> Answer | None:
    """A model's whole answer for work that is not an answer (memory extraction, a meditation's
    script): the local model (within its breaker and slots), else the API fallback; None when
    neither could answer. Answers come first: with half the local slots or more in use the
    fallback takes this, if there is one (else it waits for a slot); while it holds one the router
    counts it as in flight, so its saturation estimate stays honest. Failures count on the local
    breaker as an answer's would."""
    busy = router.in_flight >= max(1, router.max_concurrency // 2) and router.fallback is not None
    if router.local is not None and not busy and router.breaker.allow():
        try:
            async with router.slots:
                router.in_flight += 1
                try:
                    answer = await router.local.stream(request, _ignore, route=route)
                finally:
                    router.in_flight -= 1
        except LocalModelError as exc:
            (router.breaker.record_failure if exc.transient else router.breaker.record_success)()
            log.warning("background_local_failed", route=route, error=str(exc))
        else:
            router.breaker.record_success()
            return answer
    if router.fallback is not None:
        try:
            return await router.fallback.stream(request, _ignore, route=route)
        except FallbackUnavailable as exc:
            log.warning("background_fallback_failed", route=route, error=str(exc))
    return None
