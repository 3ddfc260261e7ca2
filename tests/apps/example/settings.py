"""The example app's one setting, read like any app's (``EXAMPLE_GREETING``)."""

from __future__ import annotations

from conjure.settings import AppSettings


class ExampleSettings(AppSettings):
    example_greeting: str = "hello"
