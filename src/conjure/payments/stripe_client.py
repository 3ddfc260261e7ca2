"""The Stripe side of payments: one ``stripe.StripeClient`` per runtime and webhook signature checks.

Everything that talks to Stripe goes through :class:`StripeGateway`, so the rest of
the domain works with plain ``Intent`` values and never sees SDK objects. The
API base comes from ``STRIPE_API_BASE`` so tests and local development point the
real SDK at a local server that speaks Stripe's wire format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import stripe
import structlog

from conjure.ai.breaker import breaker_for, guard_call
from conjure.errors import ConjureError, NotFound
from conjure.payments.schemas import Intent
from conjure.payments.service import PaymentProviderError, PaymentsNotConfigured
from conjure.settings import Settings
from conjure.webhooks_inbound import InvalidSignature, check_timestamp

T = TypeVar("T")
log = structlog.get_logger("conjure.payments.stripe")


def require_api_key(settings: Settings) -> str:
    """The Stripe secret key, or 503 ``payments_not_configured`` naming what to set."""
    if settings.stripe_api_key is None or not settings.stripe_api_key.get_secret_value():
        raise PaymentsNotConfigured(
            "Payments are not configured: set STRIPE_API_KEY (and STRIPE_WEBHOOK_SECRET for webhooks).",
        )
    return settings.stripe_api_key.get_secret_value()


class _HTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx transport, sending the form body as ``content=``.

    The SDK passes the already-encoded body as ``data=``, which current httpx deprecates
    for raw bytes (a DeprecationWarning per request); the bytes on the wire are the same.
    """

    def _get_request_args_kwargs(  # type: ignore[no-untyped-def]
        self, method: str, url: str, headers: Any, post_data
    ) -> list[Any]:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        data = kwargs.pop("data", None)
        if data:
            kwargs["content"] = data
        return [args, kwargs]


class StripeGateway:
    """The calls Conjure makes to Stripe, through the official SDK's async methods."""

    def __init__(self, settings: Settings) -> None:
        base = settings.stripe_api_base.rstrip("/")
        # Our own HTTPX client so it can be closed with the runtime (no sockets left behind).
        self._http = _HTTPXClient(timeout=settings.stripe_timeout_seconds)
        self.client = stripe.StripeClient(
            require_api_key(settings),
            base_addresses={"api": base} if base else None,
            http_client=self._http,
            max_network_retries=2,
        )
        self._promptpay = settings.stripe_promptpay_enabled
        self._settings = settings

    async def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> Intent:
        """Create a PaymentIntent; the idempotency key makes a retried call return the same intent."""
        methods = ["card", "promptpay"] if self._promptpay else ["card"]
        try:
            intent = await self._guarded(
                lambda: self.client.v1.payment_intents.create_async(
                    params={
                        "amount": amount,
                        "currency": currency,
                        # API version pinned by this SDK names it allowed_payment_method_types.
                        "allowed_payment_method_types": methods,
                        "metadata": metadata,
                    },
                    options={"idempotency_key": idempotency_key},
                )
            )
        except stripe.StripeError as exc:
            raise provider_error("create_intent", exc) from None
        return Intent.from_dict(intent.to_dict())

    async def retrieve_intent(self, intent_id: str) -> Intent:
        """Fetch a PaymentIntent's current state from Stripe."""
        try:
            intent = await self._guarded(lambda: self.client.v1.payment_intents.retrieve_async(intent_id))
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                raise NotFound("No such payment.") from None
            raise provider_error("retrieve_intent", exc) from None
        except stripe.StripeError as exc:
            raise provider_error("retrieve_intent", exc) from None
        return Intent.from_dict(intent.to_dict())

    async def _guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        # Stripe's circuit breaker (conjure.ai.breaker): 503 with Retry-After while it is open.
        breaker = breaker_for("stripe", self._settings, service="stripe")
        return await guard_call(breaker, call, transient=_stripe_outage, what="The payment provider")

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


def _stripe_outage(exc: BaseException) -> bool:
    """Whether a failed call counts against Stripe's breaker: no connection, 429 or a 5xx."""
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    status = getattr(exc, "http_status", None)
    return isinstance(status, int) and status >= 500


def provider_error(call: str, exc: stripe.StripeError) -> PaymentProviderError:
    # The SDK's messages never carry the secret key; the request id helps Stripe support.
    log.warning(
        "stripe_call_failed",
        call=call,
        error_type=type(exc).__name__,
        http_status=exc.http_status,
        stripe_code=exc.code,
        request_id=exc.request_id,
    )
    return PaymentProviderError("The payment provider could not complete the request; try again.")


class GatewayHolder(Protocol):
    """What keeps a process's gateway: the Runtime, named by shape so this module imports no runtime."""

    settings: Settings
    stripe_gateway: StripeGateway | None


def gateway_for(runtime: GatewayHolder) -> StripeGateway:
    """The runtime's gateway, made on first use (503 when Stripe is not configured)."""
    if runtime.stripe_gateway is None:
        runtime.stripe_gateway = StripeGateway(runtime.settings)
    return runtime.stripe_gateway


async def close_gateway(runtime: GatewayHolder) -> None:
    """Close the runtime's gateway if one was made (call when the runtime closes)."""
    gateway, runtime.stripe_gateway = runtime.stripe_gateway, None
    if gateway is not None:
        await gateway.aclose()


def verify_event(settings: Settings, payload: bytes, signature: str | None) -> dict[str, Any]:
    """Check ``Stripe-Signature`` against each configured secret (rotation) and return the event.

    The SDK's verifier does the HMAC and the constant-time compare; the signed timestamp is
    then held to ± ``STRIPE_WEBHOOK_TOLERANCE_SECONDS`` by the platform's rule for every
    inbound webhook (the SDK refuses only old ones, so a signature dated ahead would outlive
    the window). A mismatch with every secret, or a timestamp outside the window either way,
    is a 400 ``invalid_signature``; a signed body that is not a JSON event a 400 ``bad_request``.
    """
    secrets = [s for s in settings.stripe_webhook_secret if s]
    if not secrets:
        raise PaymentsNotConfigured("Stripe webhooks are not configured: set STRIPE_WEBHOOK_SECRET.")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSignature("The webhook body is not UTF-8.") from None
    timestamp = signed_timestamp(signature)
    for secret in secrets:
        try:
            # No tolerance here: check_timestamp below applies it in both directions.
            stripe.WebhookSignature.verify_header(text, signature, secret, tolerance=None)
            break
        except stripe.SignatureVerificationError:
            continue
    else:
        raise InvalidSignature("The Stripe-Signature header does not match this payload.")
    check_timestamp(timestamp, settings.stripe_webhook_tolerance_seconds, source="stripe")
    try:
        event = json.loads(text)
    except ValueError:
        raise ConjureError("The webhook body is not JSON.") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or "type" not in event:
        raise ConjureError("The webhook body is not a Stripe event.")
    return event


def signed_timestamp(header: str | None) -> int:
    """The one ``t=`` of a ``Stripe-Signature`` header (the value the HMAC covers).

    A header naming ``t`` twice is refused outright: the SDK signs over the first, and a
    second, unsigned one must never be the value the freshness check looks at.
    """
    parts = (part.partition("=") for part in (header or "").split(","))
    found = [value.strip() for key, _, value in parts if key.strip() == "t"]
    if len(found) != 1 or not re.fullmatch(r"[0-9]{1,12}", found[0]):
        raise InvalidSignature("The Stripe-Signature header must carry exactly one timestamp.")
    return int(found[0])
