"""OpenTelemetry traces, on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, and nothing at all otherwise.

One reading is one trace: the API request's span (FastAPI instrumentation, with its SQL, Redis
and httpx calls as children) is stored with the job as a W3C ``traceparent``
(``jobs.trace_context``, :func:`current_traceparent`); the worker reads it back and opens each
attempt's span under it (:func:`attempt_span`), with the queue wait, the pipeline steps and model
calls (:func:`step_span`, :func:`model_span`), storage calls (:func:`observed_storage`) and the
settle as children. Log lines written inside a span carry its ``trace_id`` and ``span_id``.

Exporters follow the OTel spec's variables: ``OTEL_EXPORTER_OTLP_PROTOCOL`` (``http/protobuf`` or
``grpc``), ``OTEL_SERVICE_NAME``; the SDK reads the rest (``OTEL_EXPORTER_OTLP_HEADERS``,
``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``, ``OTEL_RESOURCE_ATTRIBUTES``) itself. Unset, no provider
is installed, no library is instrumented, and every helper here returns a shared no-op at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any, cast

import structlog
from opentelemetry import propagate, trace

from conjure import __version__
from conjure.observability.metrics import STORAGE_LATENCY

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

    from conjure.db import Database
    from conjure.jobs.attempt import Claim
    from conjure.settings import Settings
    from conjure.storage.service import ObjectStore

log = structlog.get_logger("conjure.observability")
TRACER_NAME = "conjure"
_NULL: contextlib.nullcontext[None] = contextlib.nullcontext()
_ATTEMPTS: dict[tuple[uuid.UUID, int], tuple[str, str]] = {}  # running attempts' span ids


class _State:
    enabled = False
    engines: set[int] = set()  # noqa: RUF012  (ids of engines already instrumented in this process)


def tracing_enabled() -> bool:
    """Whether this process exports traces."""
    return _State.enabled


def configure_tracing(settings: Settings, *, role: str) -> bool:
    """Install the tracer provider, the OTLP exporter and the library instrumentations, once per
    process; ``role`` (``api``, ``worker``, ``up``) names the service unless ``OTEL_SERVICE_NAME`` does."""
    endpoint = settings.otel_exporter_otlp_endpoint.strip()
    if not endpoint:
        return False
    if _State.enabled:
        return True
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = settings.otel_service_name or ("conjure" if role == "up" else f"conjure-{role}")
    resource = Resource.create(
        {
            "service.name": name,
            "service.version": __version__,
            "deployment.environment.name": settings.environment,
        }
    )
    provider = TracerProvider(resource=resource, sampler=_requests_and_jobs())
    provider.add_span_processor(BatchSpanProcessor(_exporter(endpoint, settings.otel_exporter_otlp_protocol)))
    trace.set_tracer_provider(provider)
    _instrument_libraries()
    _State.enabled = True
    log.info(
        "tracing_enabled", endpoint=endpoint, protocol=settings.otel_exporter_otlp_protocol, service=name
    )
    return True


def _requests_and_jobs() -> Any:
    """The sampler ``OTEL_TRACES_SAMPLER`` names (parent-based always-on by default), with traces
    rooted only at a request or a job: a worker's broker polls and the scheduler's SQL, outside
    any job, would otherwise be a trace each, several a second per process."""
    from opentelemetry.sdk.trace import sampling
    from opentelemetry.trace import SpanKind

    inner = sampling._get_from_env_or_default()
    roots = (SpanKind.SERVER, SpanKind.CONSUMER)

    class RequestsAndJobs(sampling.Sampler):
        def should_sample(
            self,
            parent_context: Any,
            trace_id: int,
            name: str,
            kind: Any = None,
            attributes: Any = None,
            links: Any = None,
            trace_state: Any = None,
        ) -> sampling.SamplingResult:
            parent = trace.get_current_span(parent_context).get_span_context()
            if not parent.is_valid and kind not in roots:
                return sampling.SamplingResult(sampling.Decision.DROP)
            return inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

        def get_description(self) -> str:
            return f"RequestsAndJobs{{{inner.get_description()}}}"

    return RequestsAndJobs()


def _exporter(endpoint: str, protocol: str) -> Any:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    # The spec's base endpoint: the traces signal's path is appended (as the SDK does from the env).
    return HttpExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
    RedisInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()


def instrument_app(app: FastAPI) -> None:
    """Server spans for every request (the health probes and metrics scrapes left out)."""
    if not _State.enabled:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="/health,/ready,/metrics")


def instrument_engine(engine: AsyncEngine) -> None:
    """Spans for the SQL an engine runs (the runtime's engine, made after :func:`configure_tracing`)."""
    if not _State.enabled or id(engine.sync_engine) in _State.engines:
        return
    from opentelemetry import metrics
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    # The instrumentor's engine hook, without its global patching of create_engine (which misses
    # engines made through an already imported create_async_engine anyway).
    usage = metrics.get_meter(TRACER_NAME).create_up_down_counter("db.client.connections.usage")
    EngineTracer(tracer(), engine.sync_engine, usage)  # type: ignore[no-untyped-call]
    _State.engines.add(id(engine.sync_engine))


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME, __version__)


def current_traceparent() -> str | None:
    """The current span as a W3C ``traceparent`` (what a job stores at submit); None when off."""
    if not _State.enabled:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def log_trace_ids(_: object, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the current span's ``trace_id`` and ``span_id`` on each line."""
    if _State.enabled:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
            event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


def span(name: str, **attributes: Any) -> AbstractContextManager[Any]:
    """A child span of the current one (a no-op when tracing is off)."""
    if not _State.enabled:
        return _NULL
    return tracer().start_as_current_span(name, attributes=_clean(attributes))


def step_span(step: str) -> AbstractContextManager[Any]:
    """One pipeline step (``filter``, ``analyze``, ``read``, ``image`` …)."""
    return span(f"step {step}", **{"conjure.step": step})


@contextlib.contextmanager
def _model_span(provider: str, model: str, step: str) -> Iterator[ModelCall]:
    attributes = {"gen_ai.system": provider, "gen_ai.request.model": model, "conjure.step": step}
    with tracer().start_as_current_span(
        f"model {provider} {model}",
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield ModelCall(current)
        except BaseException as exc:
            # The type only: a provider's message may echo the prompt.
            current.set_attribute("error.type", type(exc).__name__)
            current.set_status(trace.StatusCode.ERROR, type(exc).__name__)
            raise


class ModelCall:
    """The span of one model call; :meth:`usage` adds its tokens and cost once it answered."""

    def __init__(self, current: trace.Span | None = None) -> None:
        self.current = current

    def usage(self, *, model: str, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
        if self.current is None:
            return
        self.current.set_attributes(
            {
                "gen_ai.response.model": model,
                "gen_ai.usage.input_tokens": input_tokens,
                "gen_ai.usage.output_tokens": output_tokens,
                "conjure.cost_usd": cost_usd,
            }
        )


_NO_CALL = ModelCall()


def model_span(provider: str, model: str, step: str) -> AbstractContextManager[ModelCall]:
    """One call to a model provider, with model, tokens and cost (USD) as attributes."""
    if not _State.enabled:
        return contextlib.nullcontext(_NO_CALL)
    return _model_span(provider, model, step)


def attempt_span(db: Database, claim: Claim) -> AbstractAsyncContextManager[None]:
    """The worker's span of one attempt, continuing the trace its job was submitted in."""
    if not _State.enabled:
        return _NULL
    return _attempt_span(db, claim)


@contextlib.asynccontextmanager
async def _attempt_span(db: Database, claim: Claim) -> AsyncIterator[None]:
    from opentelemetry.trace import SpanKind

    found = await _job_trace(db, claim.job_id)
    parent = propagate.extract({"traceparent": found[0]}) if found and found[0] else None
    attributes: dict[str, str | int] = {
        "conjure.job.id": str(claim.job_id),
        "conjure.job.kind": claim.kind,
        "conjure.job.attempt": claim.attempt,
    }
    with tracer().start_as_current_span(
        f"job {claim.kind} attempt {claim.attempt}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes=attributes,
    ) as current:
        context = current.get_span_context()
        # For lines logged about this attempt from other tasks (the settler's group commit).
        _ATTEMPTS[claim.key] = (format(context.trace_id, "032x"), format(context.span_id, "016x"))
        if found is not None:
            # Queued since submit (first attempt) or since the retry was due: a span of its own.
            waited_from = found[1] if claim.attempt <= 1 or found[2] is None else found[2]
            claimed_at = time.time() - (time.monotonic() - claim.started)
            start_ns = int(waited_from.timestamp() * 1e9)
            end_ns = max(start_ns, int(claimed_at * 1e9))
            tracer().start_span("queue wait", start_time=start_ns, attributes=attributes).end(end_ns)
        try:
            yield
        finally:
            _ATTEMPTS.pop(claim.key, None)


def attempt_trace_ids(key: tuple[uuid.UUID, int]) -> dict[str, str]:
    """``trace_id`` and ``span_id`` of a running attempt's span, by (job id, attempt); empty when off."""
    found = _ATTEMPTS.get(key) if _State.enabled else None
    return {} if found is None else {"trace_id": found[0], "span_id": found[1]}


async def _job_trace(
    db: Database, job_id: uuid.UUID
) -> tuple[str | None, dt.datetime, dt.datetime | None] | None:
    """The job's stored traceparent, submit time and due time (one small read, only when tracing)."""
    from sqlalchemy import select

    from conjure.jobs.models import JOBS

    try:
        async with db.session() as session:
            row = (
                await session.execute(
                    select(JOBS.c.trace_context, JOBS.c.created_at, JOBS.c.run_at).where(JOBS.c.id == job_id)
                )
            ).first()
    except Exception as exc:  # a trace is never worth failing a job for
        log.warning("trace_context_read_failed", job_id=str(job_id), error_type=type(exc).__name__)
        return None
    return None if row is None else (row[0], row[1], row[2])


class _ObservedStorage:
    """An object store whose calls are timed (``conjure_storage_call_seconds``) and, when tracing
    is on, spans (``storage put`` …); everything else passes through."""

    def __init__(self, inner: ObjectStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value) or name.startswith("_"):
            return value
        call = cast(Callable[..., Awaitable[Any]], value)

        async def observed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                with span(f"storage {name}", **{"conjure.storage.operation": name}):
                    return await call(*args, **kwargs)
            finally:
                STORAGE_LATENCY.labels(name).observe(time.perf_counter() - started)

        return observed


def observed_storage(storage: ObjectStore) -> ObjectStore:
    """``storage`` as a job handler gets it: each call timed, and a span when tracing is on."""
    return cast("ObjectStore", _ObservedStorage(storage))


def add_event(name: str, **attributes: Any) -> None:
    """An event on the current span (a progress step), when tracing is on."""
    if _State.enabled:
        trace.get_current_span().add_event(name, attributes=_clean(attributes))


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if v is not None}
