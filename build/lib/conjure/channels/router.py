"""The messaging providers' webhooks: verify, store each message once, answer 200 at once.

Processing (normalising, calling the apps) is the ``channels.process`` job's, so an answer
never waits on an app or on a provider's API: RingCentral gives a webhook 3 s, Meta and
Pub/Sub retry a slow one. See :mod:`conjure.channels.verify` for what each check refuses.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from conjure.channels.ingest import store_received
from conjure.channels.verify import (
    PushTokenVerifier,
    check_meta_handshake,
    check_meta_signature,
    check_meta_timestamps,
    check_ringcentral,
)
from conjure.channels.wire import (
    MalformedDelivery,
    meta_messages,
    meta_timestamps,
    pubsub_messages,
    ringcentral_messages,
)
from conjure.deps import RuntimeDep, SessionDep
from conjure.errors import ConjureError
from conjure.kit.problems import problems

router = APIRouter(prefix="/api/v1/webhooks", tags=["channels"])
REFUSED = {
    400: "Bad or missing signature or token, stale or future timestamp, or not the provider's format "
    "(`invalid_signature`, `malformed_json`)",
    503: "The provider's webhook secret is not set (`webhooks_not_configured`)",
}


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        raise ConjureError("The webhook body is not JSON.", code="malformed_json") from None
    if not isinstance(parsed, dict):
        raise ConjureError("The webhook body is not a JSON object.", code="malformed_json")
    return parsed


def _malformed(exc: MalformedDelivery) -> ConjureError:
    return ConjureError(str(exc), code="malformed_json")


@router.post(
    "/ringcentral", response_model=dict[str, int], responses=problems(400, 422, 503, describe=REFUSED)
)
async def ringcentral_webhook(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    validation_token: Annotated[str | None, Header(max_length=512)] = None,
    verification_token: Annotated[str | None, Header(max_length=512)] = None,
) -> JSONResponse:
    """RingCentral: the subscription's ``Validation-Token`` handshake, then SMS notifications."""
    if validation_token is not None:
        # Creating the subscription: RingCentral wants its token back, in 3 s, in under 1 KB.
        return JSONResponse({}, headers={"Validation-Token": validation_token})
    notification = _json(await request.body())
    check_ringcentral(runtime.settings, verification_token, notification)
    try:
        received = ringcentral_messages(notification)
    except MalformedDelivery as exc:
        raise _malformed(exc) from None
    return JSONResponse(await store_received(session, runtime, received))


@router.get(
    "/meta",
    response_class=PlainTextResponse,
    responses=problems(400, 422, 503, describe=REFUSED),
)
async def meta_handshake(
    runtime: RuntimeDep,
    mode: Annotated[str | None, Query(alias="hub.mode", max_length=32)] = None,
    verify_token: Annotated[str | None, Query(alias="hub.verify_token", max_length=512)] = None,
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=512)] = "",
) -> PlainTextResponse:
    """Meta's subscription handshake: our verify token gets its ``hub.challenge`` echoed."""
    check_meta_handshake(runtime.settings, mode, verify_token)
    return PlainTextResponse(challenge)


@router.post("/meta", responses=problems(400, 422, 503, describe=REFUSED))
async def meta_webhook(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    x_hub_signature_256: Annotated[str | None, Header(max_length=512)] = None,
) -> dict[str, int]:
    """WhatsApp Cloud API messages, signed with the app secret (statuses are acknowledged, not stored)."""
    body = await request.body()
    check_meta_signature(runtime.settings, x_hub_signature_256, body)
    try:
        received = meta_messages(_json(body))
    except MalformedDelivery as exc:
        raise _malformed(exc) from None
    check_meta_timestamps(runtime.settings, meta_timestamps(received))
    return await store_received(session, runtime, received)


def _push_verifier(request: Request, runtime: RuntimeDep) -> PushTokenVerifier:
    verifier: PushTokenVerifier | None = getattr(request.app.state, "pubsub_push_verifier", None)
    if verifier is None:
        verifier = request.app.state.pubsub_push_verifier = PushTokenVerifier(runtime.settings)
    return verifier


@router.post("/google", responses=problems(400, 422, 503, describe=REFUSED))
async def google_webhook(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    authorization: Annotated[str | None, Header(max_length=8192)] = None,
) -> dict[str, int]:
    """Pub/Sub push (Business Profile review notifications, Business Messages), with Google's OIDC token."""
    await _push_verifier(request, runtime).check(runtime.settings, authorization)
    try:
        received = pubsub_messages(_json(await request.body()))
    except MalformedDelivery as exc:
        raise _malformed(exc) from None
    return await store_received(session, runtime, received)
