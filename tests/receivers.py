"""A local HTTP server that records the webhook calls it gets, and the ``receiver`` fixture over it.

Shared by the job engine's webhook tests and the apps' ``webhook`` option tests, so both check what a
real receiver sees (headers and raw body) the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from tests.loopback import LoopbackServer


class Receiver(LoopbackServer):
    """Records each POST as ``(lower-cased headers, body)`` and answers 204; ``url`` is its hook."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self._listen(Handler)

    @property
    def url(self) -> str:
        return f"{super().url}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver serving on a thread for the test's duration."""
    r = Receiver().start()
    yield r
    r.stop()
