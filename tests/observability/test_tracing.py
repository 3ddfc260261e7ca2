"""One tarot reading is one trace from the API process to a separate worker process; an image's model
call is a span of its attempt."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conjure.runtime import Runtime
from conjure.settings import Settings
from tests.factories import auth_headers, make_user
from tests.observability.collectors import OtlpReceiver, ReceivedSpan
from tests.processes import api_env, api_process, stop_process, wait_healthy

pytestmark = pytest.mark.slow


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


async def _wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    for _ in range(int(seconds * 10)):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[ReceivedSpan]:
    chain = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


async def test_a_reading_is_one_trace_across_the_api_and_a_worker_process(
    make_settings: Callable[..., Settings], pg_url: str, redis_url: str, tmp_path: Path, otlp: OtlpReceiver
) -> None:
    settings = make_settings(database_url=pg_url, redis_url=redis_url)
    runtime = await Runtime.start(settings, apps=[])
    try:
        user = await make_user(runtime, stars=3)
        headers = auth_headers(runtime, user)
    finally:
        await runtime.close()
    env = api_env(
        settings,
        database_url=pg_url,
        redis_url=redis_url,
        tmp_path=tmp_path,
        drop=("OTEL_", "SENTRY_", "AI_"),
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp.url,
        OTEL_BSP_SCHEDULE_DELAY="100",  # the SDK's batch delay (ms): spans arrive within the test
        LOG_LEVEL="INFO",
    )
    log_path = tmp_path / "processes.log"
    with log_path.open("wb") as log, api_process(env, tmp_path, log) as (base, _api):
        worker = subprocess.Popen(
            [sys.executable, "-m", "conjure.cli", "worker"], env=env, cwd=tmp_path, stdout=log, stderr=log
        )
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                await wait_healthy(client, log_path, base)
                accepted = await client.post(
                    f"{base}/api/v1/tarot/read",
                    json={"question": "Will my garden grow this year?"},
                    headers=headers,
                )
                assert accepted.status_code == 202, accepted.text
                job_id = accepted.json()["job_id"]
                for _ in range(600):
                    reading = (await client.get(f"{base}/api/v1/reading/{job_id}", headers=headers)).json()
                    if reading["status"] not in ("queued", "processing"):
                        break
                    await asyncio.sleep(0.1)
                assert reading["status"] == "succeeded", reading
                image = await client.post(
                    f"{base}/api/generation", json={"prompt": "a lighthouse at dusk"}, headers=headers
                )
                assert image.status_code == 202, image.text
                image_job = image.json()["job_id"]
                for _ in range(600):
                    made = (await client.get(f"{base}/api/generation/{image_job}", headers=headers)).json()
                    if made["status"] not in ("queued", "processing", "pending"):
                        break
                    await asyncio.sleep(0.1)
                assert made["status"] == "completed", made

            def settled() -> bool:
                return sum(s.name == "settle" for s in otlp.snapshot()) >= 2

            await _wait_for(settled, 30, "the worker's settle spans")
        finally:
            stop_process(worker)
    spans = otlp.snapshot()
    submit = next(s for s in spans if s.service == "conjure-api" and s.name == "POST /api/v1/tarot/read")
    trace = [s for s in spans if s.trace_id == submit.trace_id]
    by_id = {s.span_id: s for s in trace}
    worker_spans = [s for s in trace if s.service == "conjure-worker"]
    names = {s.name for s in worker_spans}
    attempt = next(s for s in worker_spans if s.name == "job tarot.reading attempt 1")
    assert attempt.attributes["conjure.job.id"] == job_id
    assert submit in _ancestors(attempt, by_id)  # the worker continued the request's trace
    assert {"queue wait", "settle", "step filter", "step analyze", "step read"} <= names
    models = [s for s in worker_spans if s.name.startswith("model ")]
    assert models, names
    for model in models:
        assert attempt in _ancestors(model, by_id)
        assert model.attributes["gen_ai.system"] == "offline"
        assert {"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "conjure.cost_usd"} <= set(
            model.attributes
        )
    # The image job's model call is a span of its attempt too, with its model and cost.
    image_attempt = next(s for s in spans if s.name == "job imagegen.generate attempt 1")
    image_trace = {s.span_id: s for s in spans if s.trace_id == image_attempt.trace_id}
    [image_model] = [s for s in image_trace.values() if s.name.startswith("model ")]
    assert image_model.name == "model offline offline-pillow-v1"
    assert image_attempt in _ancestors(image_model, image_trace)
    assert (image_model.attributes["conjure.step"], image_model.attributes["conjure.cost_usd"]) == (
        "image",
        0.0,
    )
    # The database and Redis calls of both processes are in it too.
    assert any(s.service == "conjure-api" and s.attributes.get("db.system") for s in trace) or any(
        s.service == "conjure-api" and "db.system.name" in s.attributes for s in trace
    )
    assert any("db.system" in s.attributes or "db.system.name" in s.attributes for s in worker_spans)
    # Broker polls and the scheduler's queries outside any job start no traces of their own.
    roots = {s.name for s in spans if s.service == "conjure-worker" and not s.parent_id}
    assert roots == set(), roots  # (the attempt's parent is the API's span)
    # The worker's log line for the job names the trace it belongs to.
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if "job_succeeded" in line]
    assert any(job_id in line and submit.trace_id in line and attempt.span_id in line for line in lines), (
        lines
    )


def test_without_an_endpoint_nothing_is_traced(make_settings: Callable[..., Settings]) -> None:
    from opentelemetry import trace

    from conjure.observability.tracing import configure_tracing, current_traceparent, span, tracing_enabled

    assert configure_tracing(make_settings(), role="api") is False
    assert not tracing_enabled()
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)  # no SDK provider installed
    with span("anything"):
        assert not trace.get_current_span().get_span_context().is_valid
    assert current_traceparent() is None  # so a job stores no trace context


def test_the_protocol_picks_the_otlp_exporter() -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    from conjure.observability.tracing import _exporter

    grpc = _exporter("http://127.0.0.1:4317", "grpc")
    http = _exporter("http://127.0.0.1:4318/", "http/protobuf")
    try:
        assert isinstance(grpc, GrpcExporter)
        assert isinstance(http, HttpExporter)
        assert http._endpoint == "http://127.0.0.1:4318/v1/traces"  # the spec's signal path appended
    finally:
        grpc.shutdown()
        http.shutdown()
