"""A local server speaking the OpenAI wire format the assistant uses: streamed chat completions,
embeddings and speech, with a scripted delay, token rate, failures and a concurrency cap.

It stands in for a llama.cpp / Ollama / vLLM server (the local model) or for OpenAI (the
fallback): real HTTP on loopback, so the app's OpenAI client talks to it as to the real thing.
Like llama.cpp with N slots, calls beyond ``max_concurrency`` wait for a slot.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
import threading
import time
import wave
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import LoopbackServer


@dataclass
class OpenAIPeer(LoopbackServer):
    """``reply`` is streamed word by word: ``first_token_delay`` s before the first, ``token_delay``
    between the next; the next ``fail_next`` chat calls answer ``fail_status`` instead."""

    model: str = "llama-3.1-8b-instruct-q4_k_m"
    reply: str = "Hello from the local model, glad to help."
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    fail_next: int = 0
    fail_status: int = 500
    max_concurrency: int = 64
    speech_delay: float = 0.0
    speech_fail_status: int = 0  # non-zero: every speech call answers this status (an outage)
    dimensions: int = 384
    calls: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0  # streams the client closed before the end (a stopped answer)
    in_flight: int = 0
    peak: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(self.max_concurrency)
        self._listen(self._handler())

    def chat_calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return [c for c in self.calls if c["path"].endswith("/chat/completions")]

    def _take_failure(self) -> bool:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return True
            return False

    def _enter(self) -> None:
        self._slots.acquire()
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1
        self._slots.release()

    def embedding(self, text: str) -> list[float]:
        """A deterministic unit vector per text (words hashed into buckets, so overlap = similarity)."""
        vector = [0.0] * self.dimensions
        for word in text.lower().split():
            digest = hashlib.sha256(word.strip(".,!?").encode()).digest()
            vector[int.from_bytes(digest[:4], "big") % self.dimensions] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return type("BoundPeerHandler", (PeerHandler,), {"peer": self})


class PeerHandler(BaseHTTPRequestHandler):
    """The peer's HTTP side; ``peer`` is set on a subclass per server."""

    peer: OpenAIPeer

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        with self.peer._lock:
            self.peer.calls.append({"path": self.path, "body": body, "at": time.monotonic()})
        if self.path.endswith("/chat/completions"):
            self._chat(body)
        elif self.path.endswith("/embeddings"):
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": self.peer.embedding(t)}
                for i, t in enumerate(inputs)
            ]
            usage = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
            self._json(200, {"object": "list", "data": data, "model": body.get("model"), "usage": usage})
        elif self.path.endswith("/audio/speech"):
            self._speech(body)
        else:
            self._json(404, {"error": {"message": "not found"}})

    def _speech(self, body: dict[str, Any]) -> None:
        time.sleep(self.peer.speech_delay)
        if self.peer.speech_fail_status:
            data = json.dumps({"error": {"message": "scripted outage", "type": "server_error"}}).encode()
            self.send_response(self.peer.speech_fail_status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-should-retry", "false")  # one call per attempt: the breaker counts them
            self.end_headers()
            self.wfile.write(data)
            return
        words = len(str(body.get("input", "")).split())
        rate = 16000
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            frames = int(rate * 0.35 * max(words, 1))  # about 170 words a minute
            wav.writeframes(b"".join(struct.pack("<h", int(3000 * math.sin(i / 8))) for i in range(frames)))
        data = out.getvalue()
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chat(self, body: dict[str, Any]) -> None:
        if self.peer._take_failure():
            self._json(
                self.peer.fail_status, {"error": {"message": "scripted failure", "type": "server_error"}}
            )
            return
        self.peer._enter()
        try:
            self._stream(body) if body.get("stream") else self._whole(body)
        finally:
            self.peer._leave()

    def _words(self, body: dict[str, Any]) -> list[str]:
        words = self.peer.reply.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]

    def _whole(self, body: dict[str, Any]) -> None:
        time.sleep(self.peer.first_token_delay)
        text = "".join(self._words(body))
        self._json(
            200,
            {
                "id": "chatcmpl-peer",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.peer.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": 10,
                    "completion_tokens": len(text.split()),
                    "total_tokens": 10 + len(text.split()),
                },
            },
        )

    def _event(self, payload: dict[str, Any] | str) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def _stream(self, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        time.sleep(self.peer.first_token_delay)
        words = self._words(body)
        base = {
            "id": "chatcmpl-peer",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.peer.model,
        }
        try:
            for index, word in enumerate(words):
                if index:
                    time.sleep(self.peer.token_delay)
                delta: dict[str, Any] = {"content": word}
                if index == 0:
                    delta["role"] = "assistant"
                self._event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        except (BrokenPipeError, ConnectionResetError):
            # The client hung up (a stopped answer): a real server stops generating too.
            with self.peer._lock:
                self.peer.dropped += 1
            return
        self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": len(words),
            "total_tokens": prompt + len(words),
        }
        self._event({**base, "choices": [], "usage": usage})
        self._event("[DONE]")
