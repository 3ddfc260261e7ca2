"""Logs never carry user content: redacted keys, and tracebacks without frame locals."""

from __future__ import annotations

import pytest
import structlog

from conjure.observability.logging import configure_logging


@pytest.mark.parametrize("json_logs", [False, True])
def test_crash_logs_show_neither_locals_nor_sensitive_keys(
    capsys: pytest.CaptureFixture[str], json_logs: bool
) -> None:
    configure_logging(json_logs=json_logs, level="INFO")
    log = structlog.get_logger("test")

    def handler() -> None:
        question = "will my secret crush call me"
        raise RuntimeError(f"boom after {len(question)} chars")

    try:
        handler()
    except RuntimeError:
        log.exception("job_handler_crashed", prompt="the hidden system prompt", job_id="j1")
    output = capsys.readouterr().err
    assert "job_handler_crashed" in output
    assert "RuntimeError" in output
    assert "secret crush" not in output
    assert "hidden system prompt" not in output


def test_lines_below_the_level_are_dropped_before_any_processor_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker logs a line per job at INFO; at LOG_LEVEL=WARNING it must cost no processing.
    from conjure.observability import logging as conjure_logging

    calls: list[str] = []

    def spy(_: object, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
        calls.append(str(event_dict.get("event")))
        return event_dict

    monkeypatch.setattr(conjure_logging, "_redact", spy)
    configure_logging(json_logs=True, level="WARNING")
    log = structlog.get_logger("test.level")
    log.info("job_succeeded", job_id="j1")
    log.warning("worker_fetch_failed")
    output = capsys.readouterr().err
    assert calls == ["worker_fetch_failed"]
    assert "worker_fetch_failed" in output
    assert "job_succeeded" not in output
    configure_logging(json_logs=False, level="INFO")
