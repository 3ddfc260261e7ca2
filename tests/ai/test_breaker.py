"""The provider circuit breaker: its state machine on an injected clock, and the chain skipping
a provider whose breaker is open (against the local fake OpenAI/Gemini server)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from conjure.ai import breaker as breaker_module
from conjure.ai.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from conjure.ai.providers import get_slot
from conjure.jobs.registry import JobDeferred, RetryableJobError
from conjure.settings import Settings
from tests.ai.fakes import FakeModelServer, Reply, fake_model_server
from tests.ai.test_chain import OK, _run, _settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _gauge(provider: str) -> float | None:
    return REGISTRY.get_sample_value("conjure_model_breaker_state", {"provider": provider})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    with capture_logs() as captured:
        monkeypatch.setattr(breaker_module, "log", structlog.get_logger("conjure.ai"))
        yield captured


def test_opens_after_n_consecutive_failures_and_refuses_calls(
    clock: Clock, breaker_logs: list[dict[str, Any]]
) -> None:
    b = CircuitBreaker("unit-a", failures=3, cooldown=30, clock=clock)
    for _ in range(2):
        b.record_failure()
    assert (b.state, b.allow()) == (CLOSED, True)
    b.record_failure()
    assert b.state == OPEN
    assert not b.allow()
    assert b.remaining() == 30
    assert _gauge("unit-a") == 2
    [opened] = breaker_logs
    assert (opened["event"], opened["log_level"], opened["provider"]) == (
        "model_breaker_open",
        "warning",
        "unit-a",
    )


def test_a_success_resets_the_count(clock: Clock) -> None:
    b = CircuitBreaker("unit-b", failures=3, cooldown=30, clock=clock)
    for _ in range(2):
        b.record_failure()
    b.record_success()
    for _ in range(2):
        b.record_failure()
    assert b.state == CLOSED  # 4 failures, never 3 in a row


def test_after_the_cooldown_one_trial_goes_through_and_closes_on_success(
    clock: Clock, breaker_logs: list[dict[str, Any]]
) -> None:
    b = CircuitBreaker("unit-c", failures=1, cooldown=30, clock=clock)
    b.record_failure()
    clock.now += 29.5
    assert not b.allow()
    assert b.remaining() == pytest.approx(0.5)
    clock.now += 0.5
    assert b.allow()  # the trial
    assert b.state == HALF_OPEN
    assert _gauge("unit-c") == 1
    assert not b.allow()  # only one trial at a time
    b.record_success()
    assert (b.state, b.allow(), _gauge("unit-c")) == (CLOSED, True, 0)
    assert [(e["event"], e.get("state")) for e in breaker_logs] == [
        ("model_breaker_open", None),
        ("model_breaker_state", HALF_OPEN),
        ("model_breaker_state", CLOSED),
    ]
    assert [e["log_level"] for e in breaker_logs] == ["warning", "info", "info"]


def test_a_failed_trial_opens_it_for_a_fresh_cooldown(clock: Clock) -> None:
    b = CircuitBreaker("unit-d", failures=2, cooldown=10, clock=clock)
    b.record_failure()
    b.record_failure()
    clock.now += 10
    assert b.allow()
    b.record_failure()
    assert b.state == OPEN
    clock.now += 9
    assert not b.allow()
    clock.now += 1
    assert b.allow()


def test_a_trial_that_never_reports_back_does_not_wedge_it(clock: Clock) -> None:
    b = CircuitBreaker("unit-e", failures=1, cooldown=10, clock=clock)
    b.record_failure()
    clock.now += 10
    assert b.allow()  # this trial's task is canceled: no success, no failure
    clock.now += 5
    assert not b.allow()
    assert b.remaining() == 5
    clock.now += 5
    assert b.allow()


@pytest.fixture
def fake() -> Iterator[FakeModelServer]:
    with fake_model_server(default=OK) as server:
        yield server


async def test_the_chain_skips_an_open_provider_and_tries_it_again_after_the_cooldown(
    make_settings: Callable[..., Settings], fake: FakeModelServer, clock: Clock
) -> None:
    settings = _settings(
        make_settings, fake, "openai,gemini", ai_breaker_failures=3, ai_breaker_cooldown_seconds=30
    )
    get_slot("openai", settings).breaker.clock = clock
    fake.default = None
    # openai fails (500) three times; gemini answers each time.
    fake.script = [Reply(status=500), OK] * 3
    for _ in range(3):
        assert (await _run(settings)).provider == "gemini"
    assert [seen.api for seen in fake.requests] == ["openai", "gemini"] * 3
    assert get_slot("openai", settings).breaker.state == OPEN

    # Open: openai is not called at all, gemini answers.
    fake.requests.clear()
    fake.script = [OK, OK]
    for _ in range(2):
        assert (await _run(settings)).provider == "gemini"
    assert [seen.api for seen in fake.requests] == ["gemini", "gemini"]

    # After the cooldown: one trial call reaches openai, and its success closes the breaker.
    clock.now += 30
    fake.requests.clear()
    fake.script = [OK, OK]
    assert (await _run(settings)).provider == "openai"
    assert get_slot("openai", settings).breaker.state == CLOSED
    assert (await _run(settings)).provider == "openai"
    assert [seen.api for seen in fake.requests] == ["openai", "openai"]


async def test_when_every_provider_is_open_the_job_waits_out_the_cooldown(
    make_settings: Callable[..., Settings], fake: FakeModelServer, clock: Clock
) -> None:
    settings = _settings(
        make_settings, fake, "openai,gemini", ai_breaker_failures=2, ai_breaker_cooldown_seconds=30
    )
    for name in ("openai", "gemini"):
        get_slot(name, settings).breaker.clock = clock
    fake.default = Reply(status=503)
    for _ in range(2):
        with pytest.raises(RetryableJobError):
            await _run(settings)
    assert len(fake.requests) == 4
    clock.now += 12
    with pytest.raises(RetryableJobError) as info:
        await _run(settings)
    assert len(fake.requests) == 4  # no provider was called
    assert info.value.code == "model_unavailable"
    assert info.value.retry_after == pytest.approx(18)
    # Not tried at all: the engine delays the job without spending an attempt.
    assert isinstance(info.value, JobDeferred)
    # The trial after the cooldown fails: open again, for a fresh cooldown.
    clock.now += 18
    with pytest.raises(RetryableJobError) as info:
        await _run(settings)
    assert len(fake.requests) == 6
    assert not isinstance(info.value, JobDeferred)  # providers were called: a real attempt
    assert get_slot("openai", settings).breaker.state == OPEN
