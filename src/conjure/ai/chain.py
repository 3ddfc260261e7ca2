"""Run one typed model step through the provider fallback chain, with timeouts, limits and metrics.

Error policy (what the job engine sees):

- 429, 5xx, connection trouble, timeouts → try the next provider; if every provider
  failed that way → :class:`RetryableJobError` ``model_unavailable`` (backoff, then DLQ), not
  sooner than the longest ``Retry-After`` a provider sent.
- A provider whose circuit breaker is open (``AI_BREAKER_FAILURES`` transient failures in a row,
  :mod:`conjure.ai.breaker`) is skipped like a transient failure without being called; when
  every provider was skipped or failed, the retry waits at least until the first breaker lets a
  trial call through. When every provider was skipped (none was called), the job was not tried:
  :class:`JobDeferred` (``breaker.deferral``), a delay that spends no attempt (capped per job by
  ``JOB_MAX_FREE_DELAYS``, so a lasting outage still reaches the DLQ).
- The account is out of quota or credit (OpenAI's 429 ``insufficient_quota``, a 402, Gemini's
  billing errors) or its credentials are refused (401/403) → next provider; at the end →
  :class:`PermanentJobError` ``ai_quota_exceeded`` / ``ai_auth_failed``: waiting will not help.
- Output that fails schema validation after pydantic-ai's own retries → next provider;
  at the end → :class:`PermanentJobError` ``model_output_invalid``.
- A provider refusing the request (auth, bad model name, content filter) → next
  provider; at the end → :class:`PermanentJobError` ``model_rejected``.

Every refusal that is the operator's to fix (quota, credentials, a refused request, a content
policy) is logged at ERROR, one line naming the provider, step and kind, never the prompt.
- A provider missing its settings (no key) → next provider; at the end →
  :class:`PermanentJobError` ``ai_not_configured``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import structlog

from conjure.ai.breaker import deferral
from conjure.ai.providers import OFFLINE, ProviderConfigError, ProviderSlot, get_slot, provider_chain
from conjure.ai.usage import StepUsage
from conjure.jobs.registry import PermanentJobError, RetryableJobError
from conjure.observability.metrics import MODEL_ERRORS, MODEL_LATENCY, MODEL_TOKENS
from conjure.observability.tracing import model_span, step_span
from conjure.settings import Settings

if TYPE_CHECKING:
    from pydantic_ai.settings import ModelSettings

log = structlog.get_logger("conjure.ai")
T = TypeVar("T")

RETRYABLE, INVALID_OUTPUT, REJECTED, CONFIG = "retryable", "invalid_output", "rejected", "misconfigured"
QUOTA, AUTH = "quota", "auth"
CIRCUIT_OPEN = "circuit_open"  # skipped: the provider's breaker is open (conjure.ai.breaker)
# Failures the operator must act on (top up the account, fix a key, look at refused requests).
OPERATOR_KINDS = frozenset({QUOTA, AUTH, REJECTED})


@dataclass(frozen=True)
class StepOutcome(Generic[T]):
    """A step's typed output and what it cost."""

    output: T
    usage: StepUsage

    @property
    def provider(self) -> str:
        return self.usage.provider


def classify(exc: BaseException) -> str:
    """Which kind of error a provider failure is (``RETRYABLE``, ``QUOTA``, ``AUTH``, ...)."""
    # Imported here: pydantic-ai is slow to import and the offline path never needs it.
    from pydantic_ai.exceptions import (
        ContentFilterError,
        ModelAuthenticationError,
        ModelConnectionError,
        ModelHTTPError,
        ModelQuotaExceededError,
        ModelRateLimitError,
        ModelRequestTimeout,
        ModelServerError,
        ModelUnavailableError,
        UnexpectedModelBehavior,
    )

    # Before the status checks: an exhausted quota is a 429 too, but no wait will fix it.
    http_status = exc.status_code if isinstance(exc, ModelHTTPError) else None
    if isinstance(exc, ModelQuotaExceededError) or http_status == 402:
        return QUOTA
    if isinstance(exc, ModelAuthenticationError) or http_status in (401, 403):
        return AUTH
    if isinstance(exc, TimeoutError | ModelRequestTimeout | ModelConnectionError | ModelRateLimitError):
        return RETRYABLE
    if isinstance(exc, ModelServerError | ModelUnavailableError):
        return RETRYABLE
    if isinstance(exc, ModelHTTPError) and (exc.status_code == 429 or exc.status_code >= 500):
        return RETRYABLE
    if isinstance(exc, ContentFilterError):
        return REJECTED
    if isinstance(exc, UnexpectedModelBehavior):
        return INVALID_OUTPUT
    return REJECTED


class ModelChain:
    """The configured providers in order; ``run`` answers one step with the first that succeeds."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def run(
        self,
        step: str,
        *,
        output_type: type[T],
        instructions: str,
        prompt: str,
        offline: Callable[[], T],
        validate: Callable[[T], None] | None = None,
    ) -> StepOutcome[T]:
        """Answer ``step`` with the first provider that can (a ``step`` span when tracing is on)."""
        with step_span(step):
            return await self._run(
                step,
                output_type=output_type,
                instructions=instructions,
                prompt=prompt,
                offline=offline,
                validate=validate,
            )

    async def _run(
        self,
        step: str,
        *,
        output_type: type[T],
        instructions: str,
        prompt: str,
        offline: Callable[[], T],
        validate: Callable[[T], None] | None = None,
    ) -> StepOutcome[T]:
        """Answer ``step`` with the first provider that can.

        ``offline`` computes the answer without a model; ``validate`` raises ValueError to make
        the model try again (pydantic-ai sends the message back as a retry prompt).
        """
        try:
            providers = provider_chain(self.settings)
        except ProviderConfigError as exc:
            log.error("model_provider_misconfigured", error=str(exc))
            raise _chain_error(step, [CONFIG]) from None
        failures: list[str] = []
        waits: list[float] = []  # the Retry-After of each provider that asked for one
        reopen: list[float] = []  # seconds until each skipped open breaker lets a trial through
        for index, name in enumerate(providers):
            try:
                slot = get_slot(name, self.settings)
            except ProviderConfigError as exc:
                # A chain like "gemini,offline" still answers; the operator sees this error.
                MODEL_ERRORS.labels(name, CONFIG).inc()
                log.error("model_provider_misconfigured", provider=name, error=str(exc))
                failures.append(CONFIG)
                continue
            if slot.limiter.locked() and index < len(providers) - 1:
                # Saturated: fall through to the next provider rather than queue behind this one.
                MODEL_ERRORS.labels(name, "saturated").inc()
                continue
            # After the saturation check: allow() in half-open claims the one trial call.
            if not slot.breaker.allow():
                MODEL_ERRORS.labels(name, CIRCUIT_OPEN).inc()
                failures.append(RETRYABLE)
                reopen.append(slot.breaker.remaining())
                continue
            started = time.perf_counter()
            try:
                with model_span(name, slot.model_name, step) as call:
                    async with slot.limiter:
                        if name == OFFLINE:
                            output = offline()
                            usage = StepUsage(step=step, provider=name, model=slot.model_name)
                        else:
                            output, usage = await self._call(
                                slot, step, output_type, instructions, prompt, validate
                            )
                    call.usage(
                        model=usage.model,
                        input_tokens=usage.input_tokens,
                        output_tokens=usage.output_tokens,
                        cost_usd=usage.cost_usd,
                    )
            except (Exception, TimeoutError) as exc:
                failures.append(_record_failure(name, step, exc))
                if failures[-1] == RETRYABLE:
                    slot.breaker.record_failure()
                    if (wait := _retry_after(exc)) is not None:
                        waits.append(wait)
                else:
                    slot.breaker.record_success()  # it answered: a refusal is not an outage
                continue
            slot.breaker.record_success()
            elapsed = time.perf_counter() - started
            MODEL_LATENCY.labels(name, step).observe(elapsed)
            MODEL_TOKENS.labels(name, "input").inc(usage.input_tokens)
            MODEL_TOKENS.labels(name, "output").inc(usage.output_tokens)
            return StepOutcome(output, _with_latency(usage, elapsed))
        if reopen and len(reopen) == len(failures):
            # No provider was called (each behind an open breaker): not an attempt.
            raise deferral(
                "model_unavailable",
                f"No AI provider could answer the {step} step right now; retrying.",
                reopen,
            )
        if reopen:
            # Come back when the first skipped provider takes a trial call again (never sooner).
            waits.append(max(min(reopen), 1.0))
        raise _chain_error(step, failures, retry_after=max(waits, default=None))

    async def _call(
        self,
        slot: ProviderSlot,
        step: str,
        output_type: type[T],
        instructions: str,
        prompt: str,
        validate: Callable[[T], None] | None,
    ) -> tuple[T, StepUsage]:
        from pydantic_ai import Agent, ModelRetry, NativeOutput, PromptedOutput

        assert slot.model is not None
        mode = self.settings.ai_output_mode
        spec: Any = output_type
        if mode == "native":
            spec = NativeOutput(output_type)
        elif mode == "prompted":
            spec = PromptedOutput(output_type)
        agent: Agent[None, T] = Agent(
            slot.model,
            output_type=spec,
            instructions=instructions,
            retries={"output": self.settings.ai_output_retries},
        )
        if validate is not None:
            check = validate

            @agent.output_validator
            def _validate(output: T) -> T:
                try:
                    check(output)
                except ValueError as exc:
                    raise ModelRetry(str(exc)) from None
                return output

        timeout = self.settings.ai_call_timeout_seconds
        settings: ModelSettings = {
            "request_timeout": timeout,
            "timeout": timeout,
            "max_retries": 0,
            # Never the provider's default: a request's cost is bounded by our settings.
            "max_tokens": max_tokens_for(self.settings, step),
        }
        # The outer bound also covers pydantic-ai's own output retries.
        result = await asyncio.wait_for(
            agent.run(prompt, model_settings=settings), timeout * (1 + self.settings.ai_output_retries)
        )
        run_usage = result.usage
        cost = float(getattr(run_usage, "cost", 0) or 0)
        usage = StepUsage(
            step=step,
            provider=slot.name,
            model=slot.model_name,
            input_tokens=run_usage.input_tokens,
            output_tokens=run_usage.output_tokens,
            requests=run_usage.requests,
            cost_usd=cost,
        )
        return result.output, usage


def max_tokens_for(settings: Settings, step: str) -> int:
    """One request's output-token cap for ``step``: ``AI_MAX_TOKENS_PER_STEP``, else ``AI_MAX_TOKENS``."""
    return settings.ai_max_tokens_per_step.get(step, settings.ai_max_tokens)


def _record_failure(provider: str, step: str, exc: BaseException) -> str:
    kind = classify(exc)
    MODEL_ERRORS.labels(provider, kind).inc()
    # Only the error type, status and our classification: provider messages may echo the prompt.
    status = getattr(exc, "status_code", None)
    if kind in OPERATOR_KINDS:
        # The alert: no retry will fix it, the operator must (route error logs to alerting).
        log.error("model_provider_refused", provider=provider, step=step, kind=kind, status=status)
    else:
        log.warning("model_call_failed", provider=provider, step=step, kind=kind, error=type(exc).__name__)
    return kind


def _retry_after(exc: BaseException) -> float | None:
    """The seconds a provider asked us to wait (pydantic-ai reads its ``Retry-After``), if it did."""
    wait = getattr(exc, "retry_after", None)
    return float(wait) if isinstance(wait, int | float) and wait > 0 else None


def _with_latency(usage: StepUsage, seconds: float) -> StepUsage:
    from dataclasses import replace

    return replace(usage, latency_ms=int(seconds * 1000))


def _chain_error(step: str, failures: list[str], *, retry_after: float | None = None) -> Exception:
    if RETRYABLE in failures or not failures:
        return RetryableJobError(
            "model_unavailable",
            f"No AI provider could answer the {step} step right now; retrying.",
            retry_after=retry_after,
        )
    if QUOTA in failures:
        return PermanentJobError("ai_quota_exceeded", "The AI provider's account is out of quota or credit.")
    if AUTH in failures:
        return PermanentJobError("ai_auth_failed", "The AI provider refused this server's credentials.")
    if INVALID_OUTPUT in failures:
        return PermanentJobError(
            "model_output_invalid",
            f"The AI model's answer for the {step} step did not match the expected format.",
        )
    if REJECTED in failures:
        return PermanentJobError("model_rejected", f"The AI provider refused the {step} step.")
    return PermanentJobError("ai_not_configured", "No configured AI provider can run on this server.")
