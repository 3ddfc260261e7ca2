"""A local HTTP server that speaks the OpenAI chat-completions and Gemini generateContent wire formats.

Tests script its replies (JSON arguments for the output tool, an HTTP status, or a
delay); the real pydantic-ai clients talk to it over TCP, so request building,
response parsing, errors and timeouts are all exercised for real.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Args = dict[str, Any]
ArgsFn = Callable[[dict[str, Any]], Args]


@dataclass
class Reply:
    """One scripted answer: ``args`` for the output tool (or a function of the request), a status, a delay."""

    args: Args | ArgsFn | None = None
    status: int = 200
    delay: float = 0.0
    text: str | None = None  # raw text instead of a tool call (malformed output)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. Retry-After on a 429
    error: dict[str, Any] | None = None  # the error object of a non-200 reply (else a generic one)


@dataclass
class Seen:
    api: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeModelServer:
    """Scripted replies are used in order; ``default`` answers once the script runs out."""

    default: Reply | None = None
    script: list[Reply] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def next_reply(self) -> Reply:
        with self.lock:
            if self.script:
                return self.script.pop(0)
        assert self.default is not None, "the fake model server ran out of scripted replies"
        return self.default


def user_prompt(api: str, body: dict[str, Any]) -> str:
    """The last user text the client sent (OpenAI messages or Gemini contents)."""
    if api == "openai":
        users = [m for m in body["messages"] if m["role"] == "user"]
        content = users[0]["content"]
        return content if isinstance(content, str) else content[0]["text"]
    return str(body["contents"][0]["parts"][0]["text"])


def system_text(api: str, body: dict[str, Any]) -> str:
    if api == "openai":
        return "\n".join(m["content"] for m in body["messages"] if m["role"] == "system")
    return "\n".join(p["text"] for p in body["systemInstruction"]["parts"])


def _tool_name(api: str, body: dict[str, Any]) -> str:
    if api == "openai":
        return str(body["tools"][0]["function"]["name"])
    return str(body["tools"][0]["functionDeclarations"][0]["name"])


def _wire(api: str, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    args = reply.args(body) if callable(reply.args) else reply.args
    if reply.text is None and not body.get("tools"):
        # Native/prompted output modes: the JSON comes back as the message text.
        reply = Reply(text=json.dumps(args))
    if api == "openai":
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.text is None:
            call = {"name": _tool_name(api, body), "arguments": json.dumps(args)}
            call_id = f"call_{time.monotonic_ns()}"
            message["tool_calls"] = [{"id": call_id, "type": "function", "function": call}]
        finish = "stop" if reply.text is not None else "tool_calls"
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": finish, "message": message}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
        }
    part = (
        {"text": reply.text}
        if reply.text is not None
        else {"functionCall": {"name": _tool_name(api, body), "args": args}}
    )
    return {
        "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 30, "totalTokenCount": 130},
        "modelVersion": "gemini-2.5-flash",
    }


def _error_body(api: str, status: int) -> dict[str, Any]:
    if api == "openai":
        return {"error": {"message": f"fake error {status}", "type": "rate_limit_error", "code": None}}
    state = "RESOURCE_EXHAUSTED" if status == 429 else "UNAVAILABLE"
    return {"error": {"code": status, "message": f"fake error {status}", "status": state}}


def _handler(fake: FakeModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            api = "openai" if self.path.endswith("/chat/completions") else "gemini"
            fake.requests.append(Seen(api, self.path, body, {k.lower(): v for k, v in self.headers.items()}))
            reply = fake.next_reply()
            with fake.lock:
                fake.in_flight += 1
                fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
            try:
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status == 200:
                    payload = _wire(api, body, reply)
                else:
                    payload = {"error": reply.error} if reply.error else _error_body(api, reply.status)
                data = json.dumps(payload).encode()
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)
            finally:
                with fake.lock:
                    fake.in_flight -= 1

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def fake_model_server(default: Reply | None = None) -> Iterator[FakeModelServer]:
    """Start the server on a free loopback port; ``.url`` is its base URL."""
    fake = FakeModelServer(default=default)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
