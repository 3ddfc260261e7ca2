"""The billing calls Conjure makes to Stripe (customers, Checkout, subscriptions, invoices, portal).

They go through the payments domain's :class:`StripeGateway` (one SDK client per runtime, the
same API base, timeouts and retries) and hand back plain values (``conjure.billing.stripe_objects``).
A Stripe failure is a 502 ``payment_provider_error`` (a job retries it instead).
"""

from __future__ import annotations

from typing import Any

import stripe

from conjure.billing.stripe_objects import StripeInvoice, StripeSubscription
from conjure.errors import NotFound
from conjure.payments.stripe_client import StripeGateway, provider_error


class BillingGateway:
    """Stripe Billing through the runtime's SDK client."""

    def __init__(self, gateway: StripeGateway) -> None:
        self.client = gateway.client

    async def create_customer(self, *, email: str | None, user_id: str, idempotency_key: str) -> str:
        """A Stripe customer for this user; the idempotency key makes a retry return the same one."""
        params: dict[str, Any] = {"metadata": {"user_id": user_id}}
        if email:
            params["email"] = email
        try:
            customer = await self.client.v1.customers.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise provider_error("create_customer", exc) from None
        return str(customer.id)

    async def create_checkout_session(
        self,
        *,
        customer: str,
        price_id: str,
        metadata: dict[str, str],
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> tuple[str, str]:
        """A Checkout Session in subscription mode; returns its id and URL."""
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": metadata["user_id"],
            "line_items": [{"price": price_id, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
        }
        try:
            session = await self.client.v1.checkout.sessions.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise provider_error("create_checkout_session", exc) from None
        return str(session.id), str(session.url or "")

    async def retrieve_checkout_session(self, session_id: str) -> dict[str, Any]:
        try:
            session = await self.client.v1.checkout.sessions.retrieve_async(session_id)
        except stripe.StripeError as exc:
            raise _missing_or_error("retrieve_checkout_session", exc) from None
        return session.to_dict()

    async def create_subscription(
        self, *, customer: str, price_id: str, metadata: dict[str, str], idempotency_key: str
    ) -> StripeSubscription:
        """A subscription waiting for its first payment (Elements confirms it with the client secret)."""
        params: dict[str, Any] = {
            "customer": customer,
            "items": [{"price": price_id}],
            "payment_behavior": "default_incomplete",
            "payment_settings": {"save_default_payment_method": "on_subscription"},
            "metadata": metadata,
            "expand": ["latest_invoice.confirmation_secret"],
        }
        try:
            sub = await self.client.v1.subscriptions.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise provider_error("create_subscription", exc) from None
        return StripeSubscription.from_dict(sub.to_dict())

    async def retrieve_subscription(self, subscription_id: str) -> StripeSubscription:
        try:
            sub = await self.client.v1.subscriptions.retrieve_async(subscription_id)
        except stripe.StripeError as exc:
            raise _missing_or_error("retrieve_subscription", exc) from None
        return StripeSubscription.from_dict(sub.to_dict())

    async def update_subscription(self, subscription_id: str, params: dict[str, Any]) -> StripeSubscription:
        try:
            sub = await self.client.v1.subscriptions.update_async(
                subscription_id,
                params=params,  # type: ignore[arg-type]
            )
        except stripe.StripeError as exc:
            raise _missing_or_error("update_subscription", exc) from None
        return StripeSubscription.from_dict(sub.to_dict())

    async def cancel_subscription(self, subscription_id: str) -> StripeSubscription:
        """Cancel now (not at the period's end)."""
        try:
            sub = await self.client.v1.subscriptions.cancel_async(subscription_id)
        except stripe.StripeError as exc:
            raise _missing_or_error("cancel_subscription", exc) from None
        return StripeSubscription.from_dict(sub.to_dict())

    async def retrieve_invoice(self, invoice_id: str) -> StripeInvoice:
        """The invoice with its payments expanded (the PaymentIntent that paid it)."""
        try:
            invoice = await self.client.v1.invoices.retrieve_async(
                invoice_id,
                params={"expand": ["payments"]},
            )
        except stripe.StripeError as exc:
            raise _missing_or_error("retrieve_invoice", exc) from None
        return StripeInvoice.from_dict(invoice.to_dict())

    async def create_portal_session(self, *, customer: str, return_url: str) -> str:
        """A customer portal session's URL (payment methods, invoices, cancel)."""
        try:
            session = await self.client.v1.billing_portal.sessions.create_async(
                params={"customer": customer, "return_url": return_url}
            )
        except stripe.StripeError as exc:
            raise provider_error("create_portal_session", exc) from None
        return str(session.url)


def _missing_or_error(call: str, exc: stripe.StripeError) -> Exception:
    if isinstance(exc, stripe.InvalidRequestError) and exc.code == "resource_missing":
        return NotFound("No such Stripe object.")
    return provider_error(call, exc)
