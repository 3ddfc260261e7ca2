"""Stripe on loopback for deposits: the payments tests' PaymentIntents peer plus ``POST /v1/refunds``."""

from __future__ import annotations

import json
import secrets
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.payments.stripe_server import FakeStripe, decode_form


class StripeWithRefunds(FakeStripe):
    """Adds refunds (idempotent by ``Idempotency-Key``, like Stripe) to the PaymentIntents peer."""

    def __init__(self) -> None:
        self.refunds: dict[str, dict[str, Any]] = {}
        self.refund_keys: dict[str, str] = {}
        super().__init__()

    def _refund(self, form: dict[str, Any], idem: str | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if idem and idem in self.refund_keys:
                return 200, self.refunds[self.refund_keys[idem]]
            intent = self.intents.get(str(form.get("payment_intent")))
            if intent is None:
                return 404, {"error": {"type": "invalid_request_error", "message": "No such payment_intent"}}
            refund = {
                "id": f"re_{secrets.token_hex(12)}",
                "object": "refund",
                "amount": int(form.get("amount") or intent["amount"]),
                "payment_intent": intent["id"],
                "status": "succeeded",
                "created": int(time.time()),
            }
            self.refunds[refund["id"]] = refund
            if idem:
                self.refund_keys[idem] = refund["id"]
            return 200, refund

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler()
        fake = self

        class Handler(base):  # type: ignore[valid-type,misc]
            def do_POST(self) -> None:
                if urlsplit(self.path).path != "/v1/refunds":
                    self._handle("POST")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = decode_form(self.rfile.read(length).decode() if length else "")
                fake.requests.append({"method": "POST", "path": "/v1/refunds", "form": form})
                status, body = fake._refund(form, self.headers.get("Idempotency-Key"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
