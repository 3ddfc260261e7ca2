"""A local HTTP server that speaks Stripe's REST wire format for PaymentIntents, and Stripe-style signing.

Stripe Billing (customers, Checkout Sessions, subscriptions, invoices, the portal) is
:class:`tests.payments.stripe_billing.FakeBilling`, answered by the same server.

Requests arrive form-encoded (``metadata[user_id]=…``, ``allowed_payment_method_types[0]=card``)
exactly as the official SDK sends them; responses are Stripe's JSON objects and error
envelopes. Idempotency keys behave as Stripe's do: same key and parameters replay the
first response, same key with other parameters is a 400 ``idempotency_error``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.payments.stripe_billing import FakeBilling

API_KEY = "sk_test_conjure_local"


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's bracket encoding back to nested dicts and lists."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_index = not last and parts[i + 1].isdigit()
            if isinstance(node, list):
                idx = int(part)
                while len(node) <= idx:
                    node.append(None)
                if last:
                    node[idx] = value
                else:
                    if node[idx] is None:
                        node[idx] = [] if nxt_is_index else {}
                    node = node[idx]
            elif last:
                node[part] = value
            else:
                node = node.setdefault(part, [] if nxt_is_index else {})
    return out


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header exactly as Stripe computes it."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def make_event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    """A Stripe event body around ``obj`` (serialized once: the signature covers these bytes)."""
    event = {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


class FakeStripe:
    """Stripe's ``/v1/payment_intents`` on 127.0.0.1, in a thread, for the real SDK to call."""

    def __init__(self) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.idempotency: dict[str, tuple[dict[str, Any], str]] = {}
        self.on_create: Callable[[dict[str, Any]], None] | None = None
        self.lock = threading.Lock()
        self.billing = FakeBilling()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    # --- what a test does "on Stripe's side" -------------------------------------------------

    def set_status(self, intent_id: str, status: str, *, error: str | None = None) -> dict[str, Any]:
        with self.lock:
            intent = self.intents[intent_id]
            intent["status"] = status
            intent["last_payment_error"] = {"message": error, "type": "card_error"} if error else None
            return _copy(intent)

    def intent(self, intent_id: str) -> dict[str, Any]:
        with self.lock:
            return _copy(self.intents[intent_id])

    def creates(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST"]

    # --- the wire ----------------------------------------------------------------------------

    def _create(self, form: dict[str, Any], idem: str | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if idem and idem in self.idempotency:
                params, intent_id = self.idempotency[idem]
                if params != form:
                    return 400, _error(
                        "idempotency_error",
                        "Keys can only be reused with the same parameters.",
                    )
                return 200, self.intents[intent_id]
        try:
            amount = int(form["amount"])
        except (KeyError, ValueError):
            return 400, _error("invalid_request_error", "Missing required param: amount.", param="amount")
        intent_id = f"pi_{secrets.token_hex(12)}"
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": form.get("currency"),
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "metadata": form.get("metadata", {}),
            "payment_method_types": form.get("allowed_payment_method_types", ["card"]),
            "last_payment_error": None,
            "livemode": False,
            "created": int(time.time()),
        }
        if self.on_create is not None:
            self.on_create(_copy(intent))  # e.g. fire a webhook "too early"
        with self.lock:
            self.intents[intent_id] = intent
            if idem:
                self.idempotency[idem] = (form, intent_id)
        return 200, intent

    def _retrieve(self, intent_id: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            intent = self.intents.get(intent_id)
        if intent is None:
            return 404, _error(
                "invalid_request_error", f"No such payment_intent: '{intent_id}'", code="resource_missing"
            )
        return 200, intent

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                send_json(self, status, body)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                url = urlsplit(self.path)
                path = url.path
                form = decode_form(raw or url.query)
                fake.requests.append(
                    {"method": method, "path": path, "headers": dict(self.headers.items()), "form": form}
                )
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    self._reply(401, _error("invalid_request_error", "Invalid API Key provided."))
                    return
                if method == "POST" and path == "/v1/payment_intents":
                    if (
                        self.headers.get("Content-Type", "").split(";")[0]
                        != "application/x-www-form-urlencoded"
                    ):
                        self._reply(400, _error("invalid_request_error", "Send a form-encoded body."))
                        return
                    self._reply(*fake._create(form, self.headers.get("Idempotency-Key")))
                elif method == "GET" and (m := re.fullmatch(r"/v1/payment_intents/([^/]+)", path)):
                    self._reply(*fake._retrieve(m.group(1)))
                elif (
                    answer := fake.billing.route(method, path, form, self.headers.get("Idempotency-Key"))
                ) is not None:
                    self._reply(*answer)
                else:
                    self._reply(
                        404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path}).")
                    )

            def do_POST(self) -> None:
                self._handle("POST")

            def do_GET(self) -> None:
                self._handle("GET")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        return Handler


def send_json(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    """One JSON answer with Stripe's headers."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
    if status >= 500:
        # The SDK's own quick retries would only slow the tests; the job engine retries.
        handler.send_header("Stripe-Should-Retry", "false")
    handler.end_headers()
    handler.wfile.write(data)


def _error(kind: str, message: str, **extra: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, **extra}}


def _copy(obj: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(obj))
    return copied
