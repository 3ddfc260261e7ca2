"""Local stand-ins for the messaging providers, speaking their wire formats over real HTTP.

:class:`ProviderPeer` answers as RingCentral's REST API (JWT-flow token, SMS send), the Graph
API (WhatsApp messages), Google's OAuth token endpoint, the Business Profile API (read a review,
put a reply) and Google's JWKS; tests script failures with :meth:`ProviderPeer.fail_next`.
The ``*_delivery`` helpers build what each provider POSTs to our webhooks, signed as it signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.loopback import LoopbackServer

OUR_NUMBER = "+16505550100"
CUSTOMER = "+14155550123"
PHONE_NUMBER_ID = "109876543210"
LOCATION = "accounts/111/locations/222"
PUSH_EMAIL = "pubsub-push@conjure-test.iam.gserviceaccount.com"
AUDIENCE = "https://conjure.test/api/v1/webhooks/google"
KID = "test-key-1"


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Scripted:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class ProviderPeer(LoopbackServer):
    """One server for every provider API the channels call; ``calls`` records each request."""

    def __init__(self, signing_key: rsa.RSAPrivateKey) -> None:
        self.calls: list[Call] = []
        self.reviews: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, list[Scripted]] = defaultdict(list)
        self._lock = threading.Lock()
        jwk = json.loads(RSAAlgorithm.to_jwk(signing_key.public_key()))
        jwk.update(kid=KID, alg="RS256", use="sig")
        self.jwks = {"keys": [jwk]}
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                call = Call(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                scripted = peer._answer_for(call)
                data = json.dumps(scripted.body).encode()
                self.send_response(scripted.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in scripted.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args: object) -> None:
                return None

        self._listen(Handler)

    def fail_next(self, path_part: str, *answers: Scripted) -> None:
        """Answer the next requests whose path contains ``path_part`` with ``answers``, in order."""
        with self._lock:
            self._failures[path_part].extend(answers)

    def calls_to(self, path_part: str) -> list[Call]:
        return [call for call in self.calls if path_part in call.path]

    def _answer_for(self, call: Call) -> Scripted:
        with self._lock:
            self.calls.append(call)
            for part, queue in self._failures.items():
                if part in call.path and queue:
                    return queue.pop(0)
        return self._serve(call)

    def _serve(self, call: Call) -> Scripted:
        path = call.path
        if path == "/restapi/oauth/token" or path == "/token":
            return Scripted(
                200, {"access_token": f"at-{uuid.uuid4().hex}", "token_type": "bearer", "expires_in": 3600}
            )
        if path == "/restapi/v1.0/account/~/extension/~/sms":
            return Scripted(
                200, {"id": 7001, "type": "SMS", "direction": "Outbound", "messageStatus": "Queued"}
            )
        if path.endswith("/messages") and call.method == "POST":
            to = call.json()["to"]
            return Scripted(
                200,
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": "wamid.HBgLMTQxNTU1NTAxMjMVAgARGBI"}],
                },
            )
        if path == "/oauth2/v3/certs":
            return Scripted(200, self.jwks)
        if path.startswith("/v4/") and path.endswith("/reply") and call.method == "PUT":
            return Scripted(200, {"comment": call.json()["comment"], "updateTime": "2026-11-29T20:00:00Z"})
        if path.startswith("/v4/") and call.method == "GET":
            review = self.reviews.get(path.removeprefix("/v4/"))
            if review is None:
                return Scripted(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})
            return Scripted(200, review)
        return Scripted(404, {"error": "no such path"})


def channel_settings(peer_url: str) -> dict[str, Any]:
    """Every channel setting, pointed at the peer."""
    return {
        "ringcentral_server_url": peer_url,
        "ringcentral_client_id": "rc-client",
        "ringcentral_client_secret": "rc-secret",
        "ringcentral_jwt": "rc-jwt-credential",
        "ringcentral_webhook_verification_token": "rc-verification-token",
        "meta_app_secret": "meta-app-secret",
        "meta_verify_token": "meta-verify-token",
        "meta_graph_api_base": peer_url,
        "whatsapp_access_token": "wa-access-token",
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        "google_pubsub_audience": AUDIENCE,
        "google_pubsub_service_account_email": PUSH_EMAIL,
        "google_pubsub_jwks_url": f"{peer_url}/oauth2/v3/certs",
        "google_business_api_base": peer_url,
        "google_business_token_url": f"{peer_url}/token",
        "google_business_client_id": "gbp-client",
        "google_business_client_secret": "gbp-secret",
        "google_business_refresh_token": "gbp-refresh-token",
        "google_business_account_id": "111",
        "channels_http_timeout_seconds": 5.0,
    }


def iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + ".123Z"


def ringcentral_delivery(
    message_id: str = "1001",
    text: str = "Do you have a table for 8 on Friday?",
    *,
    at: float | None = None,
    direction: str = "Inbound",
) -> dict[str, Any]:
    """An instant message-store notification, as RingCentral POSTs it."""
    at = time.time() if at is None else at
    return {
        "uuid": str(uuid.uuid4()),
        "event": "/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS",
        "timestamp": iso(at),
        "subscriptionId": "sub-1",
        "ownerId": "62",
        "body": {
            "id": message_id,
            "to": [{"phoneNumber": OUR_NUMBER, "name": "Station One", "location": "Palo Alto, CA"}],
            "from": {"phoneNumber": CUSTOMER, "location": "San Francisco, CA"},
            "type": "SMS",
            "creationTime": iso(at),
            "lastModifiedTime": iso(at),
            "readStatus": "Unread",
            "priority": "Normal",
            "attachments": [{"id": message_id, "type": "Text", "contentType": "text/plain"}],
            "direction": direction,
            "availability": "Alive",
            "subject": text,
            "messageStatus": "Received",
            "conversationId": "5578984350117917661",
            "eventType": "Create",
            "owner": {"extensionId": "62", "extensionType": "User"},
        },
    }


def whatsapp_delivery(
    message_id: str = "wamid.HBgLMTQxNTU1NTAxMjMVAgASGBQzRUIwQ0I",
    text: str = "Hi, is the hibachi party still on?",
    *,
    at: float | None = None,
    statuses_only: bool = False,
) -> dict[str, Any]:
    """A WhatsApp Cloud API ``messages`` webhook."""
    at = time.time() if at is None else at
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "16505550100", "phone_number_id": PHONE_NUMBER_ID},
    }
    if statuses_only:
        value["statuses"] = [
            {
                "id": "wamid.out",
                "status": "delivered",
                "timestamp": str(int(at)),
                "recipient_id": "14155550123",
            }
        ]
    else:
        value["contacts"] = [{"profile": {"name": "Kai"}, "wa_id": "14155550123"}]
        value["messages"] = [
            {
                "from": "14155550123",
                "id": message_id,
                "timestamp": str(int(at)),
                "type": "text",
                "text": {"body": text},
            }
        ]
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-1", "changes": [{"value": value, "field": "messages"}]}],
    }


def meta_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def pubsub_push(data: dict[str, Any], message_id: str = "9876543210") -> dict[str, Any]:
    """A Pub/Sub push request body around ``data``."""
    return {
        "message": {
            "data": base64.b64encode(json.dumps(data).encode()).decode(),
            "messageId": message_id,
            "message_id": message_id,
            "publishTime": iso(time.time()),
            "attributes": {},
        },
        "subscription": "projects/conjure-test/subscriptions/gbp-push",
    }


def review_notification(review_id: str = "AbFvOqn") -> dict[str, Any]:
    return {"type": "NEW_REVIEW", "review": f"{LOCATION}/reviews/{review_id}", "location": LOCATION}


def review_resource(review_id: str = "AbFvOqn", stars: str = "FOUR") -> dict[str, Any]:
    """A Business Profile v4 Review."""
    return {
        "name": f"{LOCATION}/reviews/{review_id}",
        "reviewId": review_id,
        "reviewer": {
            "displayName": "Mali S.",
            "profilePhotoUrl": "https://example.com/p.png",
            "isAnonymous": False,
        },
        "starRating": stars,
        "comment": "Great show, the fried rice volcano was the best part.",
        "createTime": "2026-11-29T19:00:00Z",
        "updateTime": "2026-11-29T19:00:00.123456789Z",
    }


def business_message(message_id: str = "msg-abc") -> dict[str, Any]:
    """A Business Messages user message (the format Google delivered it in)."""
    return {
        "agent": "brands/1/agents/agent-9",
        "conversationId": "conv-77",
        "requestId": "req-1",
        "message": {
            "messageId": message_id,
            "name": f"conversations/conv-77/messages/{message_id}",
            "text": "Can I book for Saturday?",
            "createTime": "2026-11-29T19:30:00Z",
        },
        "context": {"placeId": "ChIJ-place", "userInfo": {"displayName": "Niran"}},
        "sendTime": "2026-11-29T19:30:01Z",
    }


def push_token(key: rsa.RSAPrivateKey, *, kid: str = KID, **overrides: Any) -> str:
    """An OIDC token as Pub/Sub push mints it for a subscription's service account."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": AUDIENCE,
        "azp": "113774264463038321964",
        "email": PUSH_EMAIL,
        "email_verified": True,
        "exp": now + 3600,
        "iat": now,
        "iss": "https://accounts.google.com",
        "sub": "113774264463038321964",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
