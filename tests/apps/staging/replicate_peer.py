"""A local server speaking Replicate's predictions API, and the webhooks Replicate would send.

Real HTTP on loopback, so the app's httpx code talks to it exactly as to Replicate.
The API under test runs in process, so a webhook is built here (signed the Standard
Webhooks way, as Replicate signs) and the test delivers it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from PIL import Image

from tests.loopback import LoopbackServer

SECRET = "whsec_" + base64.b64encode(b"replicate-test-signing-key-32byt").decode()


def staged_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 140, 200)).save(out, format="JPEG")
    return out.getvalue()


def signed_headers(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        "content-type": "application/json",
    }


@dataclass
class ReplicatePeer(LoopbackServer):
    """Predictions stay ``processing`` until :meth:`finish`; POSTs can be scripted to fail first."""

    create_statuses: list[int] = field(default_factory=list)  # answered before any 201
    auto_finish_after: float | None = None  # seconds after creation, seen by polling
    predictions: dict[str, dict[str, Any]] = field(default_factory=dict)
    creates: list[dict[str, Any]] = field(default_factory=list)
    polls: int = 0
    cancels: list[str] = field(default_factory=list)  # prediction ids asked to cancel
    cancel_statuses: list[int] = field(default_factory=list)  # answered to cancels before a 200
    output: bytes = field(default_factory=staged_jpeg)
    create_delay: float = 0.0  # seconds a create takes to answer (a slow provider)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._listen(self._handler())

    def finish(
        self, prediction_id: str, status: str = "succeeded", error: str | None = None
    ) -> dict[str, Any]:
        with self._lock:
            return self._finish(prediction_id, status, error)

    def _finish(
        self, prediction_id: str, status: str = "succeeded", error: str | None = None
    ) -> dict[str, Any]:
        prediction = self.predictions[prediction_id]
        prediction["status"] = status
        prediction["output"] = [f"{self.url}/output/{prediction_id}.jpg"] if status == "succeeded" else None
        prediction["error"] = error
        prediction["completed_at"] = "2026-01-01T00:00:09Z"
        return {k: v for k, v in prediction.items() if k != "created"}

    def webhook(
        self,
        prediction_id: str,
        *,
        secret: str = SECRET,
        webhook_id: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The completed-event webhook Replicate sends for this prediction (finished first)."""
        body = json.dumps(self.finish(prediction_id)).encode()
        sent_at = int(time.time()) if timestamp is None else timestamp
        return signed_headers(secret, webhook_id or f"msg_{uuid.uuid4().hex}", sent_at, body), body

    def _create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.create_statuses:
            status = self.create_statuses.pop(0)
            return status, {"title": "scripted", "detail": "scripted failure", "status": status}
        prediction_id = uuid.uuid4().hex[:20]
        prediction = {
            "id": prediction_id,
            "model": "",
            "input": body.get("input"),
            "status": "starting",
            "output": None,
            "error": None,
            "webhook": body.get("webhook"),
            "webhook_events_filter": body.get("webhook_events_filter"),
            "urls": {"get": f"{self.url}/v1/predictions/{prediction_id}"},
            "created": time.monotonic(),
        }
        self.predictions[prediction_id] = prediction
        self.creates.append(body)
        return 201, {k: v for k, v in prediction.items() if k != "created"}

    def _get(self, prediction_id: str) -> tuple[int, dict[str, Any]]:
        self.polls += 1
        prediction = self.predictions.get(prediction_id)
        if prediction is None:
            return 404, {"detail": "Not found."}
        done_after = self.auto_finish_after
        if prediction["status"] in ("starting", "processing") and done_after is not None:
            if time.monotonic() - prediction["created"] >= done_after:
                self._finish(prediction_id)
            else:
                prediction["status"] = "processing"
        return 200, {k: v for k, v in prediction.items() if k != "created"}

    def _cancel(self, prediction_id: str) -> tuple[int, dict[str, Any]]:
        # Replicate: POST /v1/predictions/{id}/cancel answers the prediction, canceled unless it
        # had ended already (then unchanged).
        self.cancels.append(prediction_id)
        if self.cancel_statuses:
            return self.cancel_statuses.pop(0), {"detail": "scripted failure"}
        prediction = self.predictions.get(prediction_id)
        if prediction is None:
            return 404, {"detail": "Not found."}
        if prediction["status"] in ("starting", "processing"):
            self._finish(prediction_id, "canceled")
        return 200, {k: v for k, v in prediction.items() if k != "created"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.startswith("/v1/predictions/") and self.path.endswith("/cancel"):
                    with peer._lock:
                        status, data = peer._cancel(self.path.split("/")[3])
                    return self._send(status, json.dumps(data).encode(), "application/json")
                time.sleep(peer.create_delay)
                if not self.path.startswith("/v1/models/") or not self.path.endswith("/predictions"):
                    return self._send(404, b"{}", "application/json")
                with peer._lock:
                    status, data = peer._create(
                        {**body, "path": self.path, "auth": self.headers["authorization"]}
                    )
                return self._send(status, json.dumps(data).encode(), "application/json")

            def do_GET(self) -> None:
                if self.path.startswith("/output/"):
                    return self._send(200, peer.output, "image/jpeg")
                with peer._lock:
                    status, data = peer._get(self.path.rsplit("/", 1)[-1])
                return self._send(status, json.dumps(data).encode(), "application/json")

        return Handler
