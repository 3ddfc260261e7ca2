"""Stripe Billing on the local Stripe: customers, Checkout Sessions, subscriptions, invoices, the portal.

The wire is Stripe's (form-encoded requests from the real SDK, JSON objects in the 2025+ shapes:
billing periods on the subscription items, an invoice's subscription under
``parent.subscription_details``, its PaymentIntent under ``payments``). What happens "on Stripe's
side" (a customer paying at Checkout, a renewal, a failed charge) are methods a test calls; each
returns the events Stripe would send, for the test to deliver in any order, any number of times.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
import time
from typing import Any

MONTH = 30 * 24 * 3600
Event = tuple[str, dict[str, Any]]


def _copy(obj: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(obj))
    return copied


def _error(kind: str, message: str, **extra: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, **extra}}


def _missing(kind: str, object_id: str) -> tuple[int, dict[str, Any]]:
    return 404, _error("invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing")


class FakeBilling:
    """The billing objects of one local Stripe; thread-safe (the server answers from threads)."""

    def __init__(self, prices: dict[str, int] | None = None) -> None:
        self.prices = dict(
            prices or {"price_conjure_plus_monthly": 19_900, "price_conjure_pro_monthly": 49_900}
        )
        self.customers: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.portal_sessions: list[dict[str, Any]] = []
        self.idempotency: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}
        self.lock = threading.RLock()
        self.outbox: list[Event] = []  # events caused by API calls (e.g. an upgrade's invoice)
        self.invoice_count = 0
        self.backdate = 0  # seconds: new subscriptions started this long ago (a period half gone)
        self.fail_next = 0  # answer this many billing reads 500 (Stripe having a bad minute)

    # --- routing ---------------------------------------------------------------------------

    def route(
        self, method: str, path: str, form: dict[str, Any], idem: str | None
    ) -> tuple[int, dict[str, Any]] | None:
        """Answer a billing request, or None when the path is not billing's."""
        routes: list[tuple[str, str, Any]] = [
            ("POST", r"/v1/customers", self._create_customer),
            ("POST", r"/v1/checkout/sessions", self._create_session),
            ("GET", r"/v1/checkout/sessions/([^/]+)", self._get_session),
            ("POST", r"/v1/subscriptions", self._create_subscription),
            ("GET", r"/v1/subscriptions/([^/]+)", self._get_subscription),
            ("POST", r"/v1/subscriptions/([^/]+)", self._update_subscription),
            ("DELETE", r"/v1/subscriptions/([^/]+)", self._cancel_subscription),
            ("GET", r"/v1/invoices/([^/]+)", self._get_invoice),
            ("POST", r"/v1/billing_portal/sessions", self._create_portal),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                with self.lock:
                    if method == "GET" and self.fail_next > 0:
                        self.fail_next -= 1
                        return 500, _error("api_error", "Something went wrong on Stripe's end.")
                    if idem and method == "POST" and not match.groups():
                        replay = self.idempotency.get(idem)
                        if replay is not None:
                            if (replay[0], replay[1]) != (path, form):
                                return 400, _error(
                                    "idempotency_error", "Keys can only be reused with the same parameters."
                                )
                            return 200, _copy(replay[2])
                    status, body = handler(form, *match.groups())
                    if idem and method == "POST" and status == 200 and not match.groups():
                        self.idempotency[idem] = (path, form, _copy(body))
                    return status, body
        return None

    # --- customers, Checkout, portal -------------------------------------------------------

    def _create_customer(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        customer = {
            "id": f"cus_{secrets.token_hex(8)}",
            "object": "customer",
            "email": form.get("email"),
            "metadata": form.get("metadata", {}),
            "created": int(time.time()),
        }
        self.customers[customer["id"]] = customer
        return 200, _copy(customer)

    def _create_session(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if form.get("mode") != "subscription":
            return 400, _error("invalid_request_error", "Only subscription mode here.", param="mode")
        price = ((form.get("line_items") or [{}])[0] or {}).get("price")
        if price not in self.prices:
            return 400, _error("invalid_request_error", f"No such price: '{price}'", param="line_items")
        if form.get("customer") not in self.customers:
            return 400, _error("invalid_request_error", "No such customer.", param="customer")
        session_id = f"cs_test_{secrets.token_hex(10)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "customer": form["customer"],
            "client_reference_id": form.get("client_reference_id"),
            "metadata": form.get("metadata", {}),
            "subscription_data": form.get("subscription_data", {}),
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "price": price,
            "subscription": None,
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return 200, _copy(session)

    def _get_session(self, form: dict[str, Any], session_id: str) -> tuple[int, dict[str, Any]]:
        session = self.sessions.get(session_id)
        return (200, _copy(session)) if session else _missing("checkout.session", session_id)

    def _create_portal(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if form.get("customer") not in self.customers:
            return 400, _error("invalid_request_error", "No such customer.", param="customer")
        portal = {
            "id": f"bps_{secrets.token_hex(8)}",
            "object": "billing_portal.session",
            "customer": form["customer"],
            "return_url": form.get("return_url"),
            "url": f"https://billing.stripe.test/p/session/{secrets.token_hex(8)}",
        }
        self.portal_sessions.append(portal)
        return 200, _copy(portal)

    # --- subscriptions ---------------------------------------------------------------------

    def _new_subscription(
        self, customer: str, price: str, metadata: dict[str, Any], status: str
    ) -> dict[str, Any]:
        now = int(time.time()) - self.backdate
        sub_id = f"sub_{secrets.token_hex(10)}"
        sub = {
            "id": sub_id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": f"si_{secrets.token_hex(8)}",
                        "object": "subscription_item",
                        "price": {"id": price, "object": "price", "unit_amount": self.prices[price]},
                        "quantity": 1,
                        "current_period_start": now,
                        "current_period_end": now + MONTH,
                    }
                ],
            },
            "cancel_at_period_end": False,
            "canceled_at": None,
            "ended_at": None,
            "latest_invoice": None,
            "metadata": metadata,
            "created": now,
        }
        self.subscriptions[sub_id] = sub
        return sub

    def _create_subscription(self, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        price = ((form.get("items") or [{}])[0] or {}).get("price")
        if price not in self.prices or form.get("customer") not in self.customers:
            return 400, _error("invalid_request_error", "Unknown price or customer.")
        if form.get("payment_behavior") != "default_incomplete":
            return 400, _error(
                "invalid_request_error", "The tests only create default_incomplete subscriptions."
            )
        sub = self._new_subscription(form["customer"], price, form.get("metadata", {}), "incomplete")
        invoice = self._invoice(sub, "subscription_create", status="open")
        body = _copy(sub)
        if "latest_invoice.confirmation_secret" in (form.get("expand") or []):
            body["latest_invoice"] = {
                **_copy(invoice),
                "confirmation_secret": {
                    "client_secret": f"pi_{invoice['id'][3:]}_secret_{secrets.token_hex(6)}",
                    "type": "payment_intent",
                },
            }
        return 200, body

    def _get_subscription(self, form: dict[str, Any], sub_id: str) -> tuple[int, dict[str, Any]]:
        sub = self.subscriptions.get(sub_id)
        return (200, _copy(sub)) if sub else _missing("subscription", sub_id)

    def _update_subscription(self, form: dict[str, Any], sub_id: str) -> tuple[int, dict[str, Any]]:
        sub = self.subscriptions.get(sub_id)
        if sub is None:
            return _missing("subscription", sub_id)
        if sub["status"] == "canceled":
            return 400, _error(
                "invalid_request_error", "A canceled subscription can only update its metadata."
            )
        if "cancel_at_period_end" in form:
            sub["cancel_at_period_end"] = form["cancel_at_period_end"] == "true"
        items = form.get("items") or []
        if items:
            item = sub["items"]["data"][0]
            if items[0].get("id") != item["id"]:
                return 400, _error("invalid_request_error", "No such subscription item.")
            old, new = item["price"]["id"], items[0]["price"]
            item["price"] = {"id": new, "object": "price", "unit_amount": self.prices[new]}
            if form.get("proration_behavior") == "always_invoice":
                self._prorate(sub, old, new)
        self.outbox.append(("customer.subscription.updated", _copy(sub)))
        return 200, _copy(sub)

    def _cancel_subscription(self, form: dict[str, Any], sub_id: str) -> tuple[int, dict[str, Any]]:
        sub = self.subscriptions.get(sub_id)
        if sub is None:
            return _missing("subscription", sub_id)
        now = int(time.time())
        sub.update(status="canceled", canceled_at=now, ended_at=now)
        self.outbox.append(("customer.subscription.deleted", _copy(sub)))
        return 200, _copy(sub)

    # --- invoices --------------------------------------------------------------------------

    def _invoice(
        self, sub: dict[str, Any], reason: str, *, status: str, lines: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        item = sub["items"]["data"][0]
        if lines is None:
            lines = [
                self._line(
                    item["price"]["id"],
                    self.prices[item["price"]["id"]],
                    item["current_period_start"],
                    item["current_period_end"],
                    proration=False,
                )
            ]
        self.invoice_count += 1
        invoice_id = f"in_{secrets.token_hex(10)}"
        total = sum(line["amount"] for line in lines)
        intent = f"pi_{secrets.token_hex(10)}"
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "customer": sub["customer"],
            "status": status,
            "billing_reason": reason,
            "number": f"CONJ-{self.invoice_count:04d}",
            "amount_due": max(total, 0),
            "amount_paid": max(total, 0) if status == "paid" else 0,
            "currency": "thb",
            "lines": {"object": "list", "data": lines},
            "parent": {"type": "subscription_details", "subscription_details": {"subscription": sub["id"]}},
            "hosted_invoice_url": f"https://invoice.stripe.test/i/{invoice_id}",
            "invoice_pdf": f"https://pay.stripe.test/invoice/{invoice_id}/pdf",
            "payments": {
                "object": "list",
                "data": [
                    {
                        "object": "invoice_payment",
                        "status": "paid" if status == "paid" else "open",
                        "payment": {"type": "payment_intent", "payment_intent": intent},
                    }
                ],
            },
            "created": int(time.time()),
        }
        self.invoices[invoice_id] = invoice
        sub["latest_invoice"] = invoice_id
        return invoice

    @staticmethod
    def _line(price: str, amount: int, start: int, end: int, *, proration: bool) -> dict[str, Any]:
        return {
            "id": f"il_{secrets.token_hex(8)}",
            "object": "line_item",
            "amount": amount,
            "period": {"start": start, "end": end},
            "pricing": {"type": "price_details", "price_details": {"price": price}},
            "parent": {
                "type": "subscription_item_details",
                "subscription_item_details": {"proration": proration},
            },
        }

    def _prorate(self, sub: dict[str, Any], old: str, new: str) -> None:
        item = sub["items"]["data"][0]
        now, end = int(time.time()), item["current_period_end"]
        share = (end - now) / (end - item["current_period_start"])
        lines = [
            self._line(old, -round(self.prices[old] * share), now, end, proration=True),
            self._line(new, round(self.prices[new] * share), now, end, proration=True),
        ]
        invoice = self._invoice(sub, "subscription_update", status="paid", lines=lines)
        self.outbox.append(("invoice.paid", _copy(invoice)))

    def _get_invoice(self, form: dict[str, Any], invoice_id: str) -> tuple[int, dict[str, Any]]:
        invoice = self.invoices.get(invoice_id)
        return (200, _copy(invoice)) if invoice else _missing("invoice", invoice_id)

    # --- what happens on Stripe's side -----------------------------------------------------

    def take_events(self) -> list[Event]:
        with self.lock:
            events, self.outbox = self.outbox, []
            return events

    def complete_checkout(self, session_id: str) -> list[Event]:
        """The customer pays at Checkout: an active subscription whose first invoice is paid."""
        with self.lock:
            session = self.sessions[session_id]
            metadata = (session.get("subscription_data") or {}).get("metadata", {})
            sub = self._new_subscription(session["customer"], session["price"], metadata, "active")
            invoice = self._invoice(sub, "subscription_create", status="paid")
            session.update(status="complete", subscription=sub["id"])
            return [
                ("checkout.session.completed", _copy(session)),
                ("customer.subscription.created", _copy(sub)),
                ("invoice.paid", _copy(invoice)),
            ]

    def pay_first_invoice(self, sub_id: str) -> list[Event]:
        """Elements confirmed the first payment: the invoice is paid and the subscription active."""
        with self.lock:
            sub = self.subscriptions[sub_id]
            invoice = self.invoices[sub["latest_invoice"]]
            invoice.update(status="paid", amount_paid=invoice["amount_due"])
            sub["status"] = "active"
            return [("invoice.paid", _copy(invoice)), ("customer.subscription.updated", _copy(sub))]

    def renew(self, sub_id: str, *, fail: bool = False) -> list[Event]:
        """The period ends: cancel if asked to, else a new period and its invoice (paid, or failed)."""
        with self.lock:
            sub = self.subscriptions[sub_id]
            item = sub["items"]["data"][0]
            if sub["cancel_at_period_end"]:
                end = item["current_period_end"]
                sub.update(status="canceled", canceled_at=end, ended_at=end)
                return [("customer.subscription.deleted", _copy(sub))]
            item["current_period_start"] = item["current_period_end"]
            item["current_period_end"] = item["current_period_start"] + MONTH
            invoice = self._invoice(sub, "subscription_cycle", status="open" if fail else "paid")
            if fail:
                sub["status"] = "past_due"
                return [
                    ("invoice.payment_failed", _copy(invoice)),
                    ("customer.subscription.updated", _copy(sub)),
                ]
            sub["status"] = "active"
            return [("invoice.paid", _copy(invoice)), ("customer.subscription.updated", _copy(sub))]

    def pay_retry(self, invoice_id: str) -> list[Event]:
        """A dunning retry succeeds: the open invoice is paid, the subscription active again."""
        with self.lock:
            invoice = self.invoices[invoice_id]
            invoice.update(status="paid", amount_paid=invoice["amount_due"])
            sub = self.subscriptions[invoice["parent"]["subscription_details"]["subscription"]]
            sub["status"] = "active"
            return [("invoice.paid", _copy(invoice)), ("customer.subscription.updated", _copy(sub))]

    def give_up(self, sub_id: str) -> list[Event]:
        """Dunning exhausted: Stripe cancels the subscription."""
        with self.lock:
            sub = self.subscriptions[sub_id]
            now = int(time.time())
            sub.update(status="canceled", canceled_at=now, ended_at=now)
            return [("customer.subscription.deleted", _copy(sub))]

    def charge_of(self, invoice_id: str, *, amount_refunded: int = 0) -> dict[str, Any]:
        """The charge object of the invoice's payment, as ``charge.refunded`` carries it."""
        with self.lock:
            invoice = self.invoices[invoice_id]
        intent = invoice["payments"]["data"][0]["payment"]["payment_intent"]
        return {
            "id": f"ch_{secrets.token_hex(8)}",
            "object": "charge",
            "amount": invoice["amount_paid"],
            "amount_refunded": amount_refunded,
            "payment_intent": intent,
            "refunded": amount_refunded >= invoice["amount_paid"],
        }

    def period_end(self, sub_id: str) -> dt.datetime:
        with self.lock:
            end = self.subscriptions[sub_id]["items"]["data"][0]["current_period_end"]
        return dt.datetime.fromtimestamp(end, tz=dt.UTC)
