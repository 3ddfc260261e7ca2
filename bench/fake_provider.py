"""An OpenAI-compatible model server for the viral drill: slow, bounded, and counting.

    python bench/fake_provider.py --port 8199 [--delay 2.0] [--limit 20]

``POST /v1/chat/completions`` answers each tarot pipeline step (a verdict, an analysis,
or a reading of exactly the cards in the prompt; the wire format of ``tests/ai/fakes.py``)
after ``--delay`` seconds. More than ``--limit`` calls at once get 429 at once, as a real
provider's concurrency cap would. ``GET /stats`` reports calls, 429s, and the highest
concurrency ever seen.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ai.fakes import Reply, _error_body, _wire
from tests.apps.tarot.conftest import step_answer


class Counters:
    """Shared by the handler threads (under ``lock``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls = 0
        self.answered = 0
        self.rejected = 0


def make_handler(counters: Counters, delay: float, limit: int) -> type[BaseHTTPRequestHandler]:
    answer = step_answer("openai")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the OpenAI client expects

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            with counters.lock:
                stats = {
                    "calls": counters.calls,
                    "answered": counters.answered,
                    "rejected_429": counters.rejected,
                    "in_flight": counters.in_flight,
                    "max_in_flight": counters.max_in_flight,
                    "limit": limit,
                    "delay_s": delay,
                }
            self._send(200, stats)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            with counters.lock:
                counters.calls += 1
                over = counters.in_flight >= limit
                if over:
                    counters.rejected += 1
                else:
                    counters.in_flight += 1
                    counters.max_in_flight = max(counters.max_in_flight, counters.in_flight)
            if over:
                self._send(429, _error_body("openai", 429))
                return
            try:
                time.sleep(delay)
                self._send(200, _wire("openai", body, Reply(args=answer)))
                with counters.lock:
                    counters.answered += 1
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with counters.lock:
                    counters.in_flight -= 1

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # a burst of connections waits in the backlog, not refused


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--limit", type=int, default=20)
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), make_handler(Counters(), args.delay, args.limit))
    server.serve_forever()


if __name__ == "__main__":
    main()
