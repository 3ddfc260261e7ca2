"""Test doubles for imagegen: a scriptable local HTTP server and a small JobContext.

The server is a real HTTP server on loopback (ThreadingHTTPServer), so the real
OpenAI SDK and httpx code talk to it over TCP exactly as they would to the provider.
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import SimpleNamespace
from typing import Any

from PIL import Image

from conjure.settings import Settings
from conjure.storage.service import ObjectStore
from tests.jobcontext import FromRuntime
from tests.loopback import LoopbackServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    send_length: bool = True  # False: no Content-Length, the body ends when the connection closes

    @classmethod
    def json(cls, data: Any, status: int = 200, **headers: str) -> Reply:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers})


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Route = Callable[[Seen], Reply]


class FakeServer(LoopbackServer):
    """Answers ``(METHOD, path)`` from queued replies (the last one repeats) or a callable."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply] | Route] = {}
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        self._listen(self._handler())

    def on(self, method: str, path: str, *replies: Reply | Route) -> None:
        if len(replies) == 1 and callable(replies[0]) and not isinstance(replies[0], Reply):
            self.routes[(method, path)] = replies[0]
        else:
            self.routes[(method, path)] = [r for r in replies if isinstance(r, Reply)]

    def requests(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def _reply(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            route = self.routes.get((seen.method, seen.path))
            if route is None:
                return Reply.json({"error": "no route"}, 404)
            if callable(route):
                return route(seen)
            return route.pop(0) if len(route) > 1 else route[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(
                    self.command,
                    self.path.split("?")[0],
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with fake._lock:
                    fake.in_flight += 1
                    fake.peak_in_flight = max(fake.peak_in_flight, fake.in_flight)
                try:
                    reply = fake._reply(seen)
                    if reply.delay:
                        time.sleep(reply.delay)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1
                self.send_response(reply.status)
                length = {"Content-Length": str(len(reply.body))} if reply.send_length else {}
                headers = {**length, **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = _serve

        return Handler


def png_bytes(width: int = 32, height: int = 24, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(out, format=fmt)
    return out.getvalue()


@dataclass
class FakeJobContext(FromRuntime):
    """Just what a handler may use, recording its progress and usage."""

    runtime: Any
    payload: Mapping[str, Any]
    job_id: uuid.UUID = field(default_factory=uuid.uuid4)
    user_id: uuid.UUID | None = field(default_factory=uuid.uuid4)
    attempt: int = 1
    steps: list[str] = field(default_factory=list)
    usage: list[dict[str, Any]] = field(default_factory=list)

    async def progress(
        self, step: str, *, message: str | None = None, data: Mapping[str, Any] | None = None
    ) -> None:
        self.steps.append(step)

    def record_usage(self, **usage: Any) -> None:
        self.usage.append(usage)

    max_attempts: int = 1


def fake_runtime(settings: Settings, storage: ObjectStore) -> Any:
    """The two things the image handler reads from a Runtime."""
    return SimpleNamespace(settings=settings, storage=storage)
