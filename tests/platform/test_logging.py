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
