"""HTTP routes of the auth domain: sign-up, login, password reset, refresh, logout, Telegram, API keys,
linked sign-ins."""

from __future__ import annotations

import uuid
from typing import Annotated

import structlog
from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse

from conjure.auth import apikeys, resets, service
from conjure.auth import identities as linking
from conjure.auth.deps import CurrentUser, UserInPerson, client_ip, identity_providers
from conjure.auth.identities import Proof
from conjure.auth.providers import ProviderTokenError
from conjure.auth.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    IdentityOut,
    IdentityPage,
    LinkOut,
    LoginIn,
    PasswordLinkIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RefreshIn,
    SignupIn,
    TelegramIn,
    TelegramLinkIn,
    TokenOut,
)
from conjure.auth.schemas import LinkIn as LinkInModel
from conjure.auth.telegram import TelegramInitDataError, TelegramUser, verify_init_data
from conjure.auth.tokens import hash_secret, unverified_claims
from conjure.deps import RuntimeDep, SessionDep, SettingsDep
from conjure.errors import Unauthorized, problem
from conjure.kit.paging import Page, PageDep
from conjure.observability.metrics import AUTH_FAILURES
from conjure.ratelimit.deps import limit_by_device, limit_by_ip
from conjure.ratelimit.service import Outage
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import IdentityProvider, User
from conjure.users.schemas import UserOut
from conjure.users.service import normalize_email

log = structlog.get_logger("conjure.auth")
router = APIRouter(tags=["auth"])
# Routes used before sign-in are limited per client IP (RATE_LIMIT_ANONYMOUS).
public = APIRouter(
    prefix="/api/v1/auth",
    dependencies=[Depends(limit_by_ip("anonymous", "rate_limit_anonymous"))],
    responses={429: {"description": "Too many requests (rate_limited)"}},
)
keys = APIRouter(prefix="/api/v1/auth/api-keys", responses={401: {"description": "Not signed in"}})
identities = APIRouter(prefix="/api/v1/me/identities", responses={401: {"description": "Not signed in"}})


def _token_out(user: User, tokens: service.TokenPair, response: Response, *, method: str) -> TokenOut:
    # Audit trail without personal data: the user id and how they signed in, never the email.
    log.info("signed_in", user_id=str(user.id), method=method)
    # Tokens must not sit in any cache (RFC 6749 §5.1).
    response.headers["Cache-Control"] = "no-store"
    return TokenOut(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        user=UserOut.model_validate(user),
    )


@public.post(
    "/signup",
    status_code=201,
    responses={409: {"description": "email_taken"}},
    # Each account gets a welcome bonus (and its inviter coins): scripted sign-ups are throttled
    # per IP and, when the client sends X-Device-Id, per device too (docs/auth.md).
    dependencies=[
        Depends(limit_by_ip("signup", "rate_limit_signup")),
        Depends(limit_by_device("signup_device", "rate_limit_signup_device")),
    ],
)
async def signup(body: SignupIn, session: SessionDep, settings: SettingsDep, response: Response) -> TokenOut:
    """Create an account with email and password; returns tokens like login."""
    user = await service.signup(
        session,
        settings,
        email=body.email,
        password=body.password,
        name=body.name,
        invite_code=body.invite_code,
    )
    return _token_out(user, await service.issue_tokens(session, settings, user), response, method="signup")


@public.post("/login", responses={401: {"description": "invalid_credentials"}})
async def login(
    body: LoginIn, request: Request, session: SessionDep, runtime: RuntimeDep, response: Response
) -> TokenOut:
    """Sign in with email and password (throttled per account and per IP)."""
    settings = runtime.settings
    # Password guessing stays throttled while Redis is down (per process: Outage.LOCAL).
    limit, local = settings.rate_limit_login, Outage.LOCAL
    await runtime.limiter.hit("login-ip", client_ip(request), limit, on_outage=local)
    # The account bucket is keyed by a hash: no email addresses in Redis.
    await runtime.limiter.hit("login-account", hash_secret(body.email.lower())[:32], limit, on_outage=local)
    try:
        user = await service.authenticate(session, email=body.email, password=body.password)
    except service.InvalidCredentials:
        AUTH_FAILURES.labels("password", "invalid_credentials").inc()
        raise
    return _token_out(user, await service.issue_tokens(session, settings, user), response, method="password")


@public.post(
    "/password-reset",
    status_code=202,
    # No body: the answer says nothing, the same for every address.
    response_class=Response,
    responses={202: {"description": "Accepted, whether or not an account has this email"}},
)
async def request_password_reset(body: PasswordResetIn, session: SessionDep, runtime: RuntimeDep) -> Response:
    """Email a password reset link if an own account has this email; the answer is the same either way."""
    # Per IP (RATE_LIMIT_ANONYMOUS, on the router) and per account, so one inbox is not flooded
    # from many addresses; the bucket is keyed by the email's hash, whether or not it has an account.
    await runtime.limiter.hit(
        "password-reset-account",
        hash_secret(normalize_email(body.email))[:32],
        runtime.settings.rate_limit_password_reset,
        on_outage=Outage.LOCAL,
    )
    await resets.request_password_reset(session, runtime, email=body.email, language=body.language)
    return Response(status_code=202)


@public.post(
    "/password-reset/confirm",
    status_code=204,
    responses={400: {"description": "invalid_reset_token: expired, already used or unknown"}},
)
async def confirm_password_reset(body: PasswordResetConfirmIn, session: SessionDep) -> Response:
    """Set a new password with the token from a reset email; signs the account out everywhere."""
    await resets.confirm_password_reset(session, token=body.token, password=body.password)
    return Response(status_code=204)


@public.post(
    "/refresh",
    response_model=TokenOut,
    responses={401: {"description": "invalid_refresh_token, refresh_token_reused"}},
)
async def refresh(
    body: RefreshIn, session: SessionDep, settings: SettingsDep, response: Response
) -> TokenOut | JSONResponse:
    """Trade a refresh token for a new pair; each refresh token works once."""
    outcome = await service.rotate_refresh_token(session, settings, body.refresh_token)
    if outcome.reused or outcome.user is None or outcome.tokens is None:
        # Returned, not raised, so the family's revocation commits.
        AUTH_FAILURES.labels("refresh", "reused").inc()
        log.warning("refresh_token_reused")
        return problem(
            401,
            "refresh_token_reused",
            "This refresh token was already used; every session it belongs to is now signed out.",
        )
    return _token_out(outcome.user, outcome.tokens, response, method="refresh")


@public.post("/logout", status_code=204)
async def logout(body: RefreshIn, session: SessionDep) -> Response:
    """Revoke the refresh token and every token rotated from it."""
    await service.revoke_refresh_token(session, body.refresh_token)
    return Response(status_code=204)


@public.post(
    "/telegram",
    responses={401: {"description": "invalid_init_data"}, 503: {"description": "telegram_not_configured"}},
)
async def telegram(
    body: TelegramIn, session: SessionDep, settings: SettingsDep, response: Response
) -> TokenOut:
    """Sign in from a Telegram Mini App with its ``initData``."""
    tg_user = telegram_user(settings, body.init_data)
    user = await service.sync_external_user(
        session,
        settings,
        provider="telegram",
        external_id=str(tg_user.id),
        name=tg_user.name or tg_user.username,
        picture_url=tg_user.photo_url,
    )
    return _token_out(user, await service.issue_tokens(session, settings, user), response, method="telegram")


def telegram_user(settings: Settings, init_data: str) -> TelegramUser:
    """The Telegram user of valid, fresh ``init_data`` (401 ``invalid_init_data``, 503 when off)."""
    if settings.telegram_bot_token is None:
        raise service.TelegramNotConfigured("Telegram login is not configured (set TELEGRAM_BOT_TOKEN).")
    try:
        return verify_init_data(
            init_data,
            settings.telegram_bot_token.get_secret_value(),
            max_age_seconds=settings.telegram_auth_max_age_seconds,
        )
    except TelegramInitDataError as exc:
        AUTH_FAILURES.labels("telegram", exc.reason).inc()
        raise service.InvalidInitData("The Telegram init data is not valid or too old.") from None


@keys.post("", status_code=201, responses={403: {"description": "signed_in_required: made with an API key"}})
async def create_api_key(body: ApiKeyIn, user: UserInPerson, session: SessionDep) -> ApiKeyCreated:
    """Create an API key for the caller; the key is in this response only."""
    row, key = await apikeys.create_api_key(session, user, name=body.name, rate_limit=body.rate_limit)
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)


@keys.get("")
async def list_api_keys(user: CurrentUser, session: SessionDep, page: PageDep) -> Page[ApiKeyOut]:
    """The caller's API keys (without secrets), newest first, revoked ones included."""
    rows, total = await apikeys.list_api_keys(session, user, limit=page.limit, offset=page.offset)
    items = [ApiKeyOut.model_validate(row) for row in rows]
    return Page[ApiKeyOut](items=items, total=total, limit=page.limit, offset=page.offset)


@keys.delete(
    "/{key_id}",
    status_code=204,
    responses={
        403: {"description": "signed_in_required: made with an API key"},
        404: {"description": "not_found"},
    },
)
async def revoke_api_key(key_id: uuid.UUID, user: UserInPerson, session: SessionDep) -> Response:
    """Revoke one of the caller's API keys at once."""
    await apikeys.revoke_api_key(session, user, key_id)
    return Response(status_code=204)


async def _proof(request: Request, runtime: Runtime, body: LinkInModel) -> Proof:
    """The identity ``body`` proves the caller holds, checked like a sign-in with it."""
    settings = runtime.settings
    if isinstance(body, PasswordLinkIn):
        return Proof(IdentityProvider.PASSWORD, normalize_email(body.email), password=body.password)
    if isinstance(body, TelegramLinkIn):
        return Proof(IdentityProvider.TELEGRAM, str(telegram_user(settings, body.init_data).id))
    providers = identity_providers(request, settings)
    claims = unverified_claims(body.token)
    provider = providers.for_issuer(claims.get("iss")) if claims else None
    if provider is None or provider.name != body.provider:
        AUTH_FAILURES.labels(body.provider, "unrecognized").inc()
        raise Unauthorized(f"This is not a valid {body.provider} token.", code="invalid_token")
    try:
        found = await providers.verify(provider, body.token)
    except ProviderTokenError as exc:
        AUTH_FAILURES.labels(provider.name, exc.reason).inc()
        raise Unauthorized(f"This is not a valid {body.provider} token.", code="invalid_token") from None
    return Proof(found.provider, found.subject, email=found.email if found.email_verified else None)


@identities.get("")
async def list_identities(user: CurrentUser, session: SessionDep, page: PageDep) -> IdentityPage:
    """The ways of signing in to the caller's account, oldest first."""
    rows = await linking.list_identities(session, user.id)
    items = [IdentityOut.model_validate(row) for row in rows[page.offset : page.offset + page.limit]]
    return IdentityPage(items=items, total=len(rows), limit=page.limit, offset=page.offset)


@identities.post(
    "",
    status_code=201,
    responses={
        200: {"description": "Already linked to this account: nothing changed", "model": LinkOut},
        401: {"description": "invalid_credentials, invalid_init_data, invalid_token"},
        403: {"description": "signed_in_required: made with an API key"},
        409: {"description": "identity_in_use, provider_already_linked"},
        503: {"description": "telegram_not_configured"},
    },
)
async def link_identity(
    body: Annotated[LinkInModel, Body()],
    request: Request,
    user: UserInPerson,
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
) -> LinkOut:
    """Link another way of signing in; each then reaches this account and wallet.

    A sign-in that belongs to another account answers 409 ``identity_in_use``, unless that
    account was never used beyond its sign-up bonus: then it is merged into this one.
    """
    proof = await _proof(request, runtime, body)
    try:
        outcome = await linking.link_identity(session, runtime.apps, user, proof)
    except linking.WrongPassword:
        AUTH_FAILURES.labels("password", "invalid_credentials").inc()
        raise service.InvalidCredentials("The email or password is not right.") from None
    if not outcome.created and outcome.merged_user_id is None:
        response.status_code = 200  # already linked: nothing changed
    return LinkOut(
        **IdentityOut.model_validate(outcome.identity).model_dump(), merged=bool(outcome.merged_user_id)
    )


@identities.delete(
    "/{identity_id}",
    status_code=204,
    responses={
        403: {"description": "signed_in_required: made with an API key"},
        404: {"description": "not_found"},
        409: {"description": "last_identity"},
    },
)
async def unlink_identity(identity_id: uuid.UUID, user: UserInPerson, session: SessionDep) -> Response:
    """Remove one way of signing in (never the last one)."""
    await linking.unlink_identity(session, user, identity_id)
    return Response(status_code=204)


router.include_router(public)
router.include_router(keys)
router.include_router(identities)
