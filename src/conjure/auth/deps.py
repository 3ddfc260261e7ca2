"""FastAPI dependencies that resolve the caller: ``CurrentUser``, ``AdminUser`` and ``CurrentPrincipal``.

A bearer credential is tried in this order: Conjure's own token (HS256, ``iss=conjure``),
an API key (database ``cj_…`` keys, then the environment's phase-1 keys), then the
external provider whose issuer the token names (Clerk, Auth0, Firebase). Every
authenticated request also counts against its user's default rate limit (one bucket per
person, whichever credential they use; see :class:`Principal`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.auth.apikeys import env_key_user, find_api_key, match_env_key
from conjure.auth.models import ApiKey
from conjure.auth.providers import IdentityProviders, ProviderTokenError
from conjure.auth.service import sync_external_user
from conjure.auth.tokens import ISSUER, VerifiedTokens, unverified_claims, verify_access_token
from conjure.deps import SessionDep
from conjure.errors import Forbidden, Unauthorized
from conjure.observability.metrics import AUTH_FAILURES
from conjure.ratelimit.policy import outage_policy
from conjure.ratelimit.service import LimitState, Outage
from conjure.runtime import Runtime
from conjure.settings import Settings
from conjure.users.models import User
from conjure.users.service import user_exists

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    """Who is calling and how, and the rate-limit buckets the request counts in.

    Limits are per person: every credential of a user (own token, Clerk/Auth0/Firebase
    token, API keys) counts in the user's bucket (``rate_key``), so a user cannot multiply
    their limit by minting keys. An API key may also have a limit of its own, counted in a
    second bucket on top: it can only lower what the key gets, never raise it.

    Only the user's id: routes that need the row take ``CurrentUser``, which loads it in
    the route's own session; the hot paths (submit, poll) never load it.
    """

    user_id: uuid.UUID
    method: str  # "token", "api_key", "env_key", "clerk", "auth0", "firebase"
    rate_key: str  # always the person's: f"user:{user_id}"
    rate_limit: str
    key_rate_key: str | None = None  # f"key:{api_key_id}" when the key has a limit of its own
    key_rate_limit: str | None = None

    @classmethod
    def of_user(
        cls, user_id: uuid.UUID, method: str, settings: Settings, *, key: ApiKey | None = None
    ) -> Principal:
        """The principal of one of ``user_id``'s credentials (``key``: the API key used, if any)."""
        if key is None or not key.rate_limit:
            return cls(user_id, method, f"user:{user_id}", settings.rate_limit_default)
        return cls(
            user_id,
            method,
            f"user:{user_id}",
            settings.rate_limit_default,
            key_rate_key=f"key:{key.id}",
            key_rate_limit=key.rate_limit,
        )

    def buckets(self) -> list[tuple[str, str]]:
        """(bucket key, limit) pairs of the default limit: the key's own first, then the person's.

        In that order a request the key's own limit refuses costs the person nothing.
        """
        pairs = [(self.rate_key, self.rate_limit)]
        if self.key_rate_key and self.key_rate_limit:
            pairs.insert(0, (self.key_rate_key, self.key_rate_limit))
        return pairs


class KnownUsers:
    """User ids recently seen to exist, so a signed token costs no query on every request.

    Our tokens are signed for users that existed when they signed in; the check only stops
    a token whose user has since been deleted. Every API process forgets a deleted user when
    its deletion is announced (:mod:`conjure.announcements`); ``ttl`` bounds it when an
    announcement is lost.
    """

    def __init__(self, ttl: float = 300.0, max_size: int = 100_000) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._until: dict[uuid.UUID, float] = {}

    def __contains__(self, user_id: uuid.UUID) -> bool:
        until = self._until.get(user_id)
        return until is not None and until > time.monotonic()

    def add(self, user_id: uuid.UUID) -> None:
        if len(self._until) >= self.max_size:
            self._until.clear()  # a crude bound: a cold start of the cache, not a leak
        self._until[user_id] = time.monotonic() + self.ttl

    def forget(self, user_id: uuid.UUID) -> None:
        self._until.pop(user_id, None)

    def clear(self) -> None:
        self._until.clear()


# Declares the scheme in OpenAPI (the docs' "Authorize" button); errors stay ours (auto_error off).
_BEARER_DESCRIPTION = "Conjure access token, API key, or a Clerk/Auth0/Firebase ID token."
_bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearer", description=_BEARER_DESCRIPTION)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]


def _bearer(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials.strip():
        raise Unauthorized("Send `Authorization: Bearer <token>`.", code="unauthorized", headers=_CHALLENGE)
    return credentials.credentials.strip()


def require_bearer_header(authorization: str | None) -> None:
    """401 ``unauthorized`` unless an ``Authorization: Bearer <credential>`` header is present.

    The same test as the bearer scheme's, made on the raw header before the body is read, so an
    anonymous request learns nothing from its body and costs no parse (:mod:`conjure.kit.contract`).
    """
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        _bearer(None)


def _invalid(method: str, reason: str, *, expired: bool = False) -> Unauthorized:
    AUTH_FAILURES.labels(method, reason).inc()
    if expired:
        return Unauthorized("The token has expired.", code="token_expired", headers=_CHALLENGE)
    return Unauthorized("The token is not valid.", code="invalid_token", headers=_CHALLENGE)


def client_ip(request: Request) -> str:
    """The peer address (uvicorn's ``--proxy-headers`` makes it the client's behind a proxy)."""
    return request.client.host if request.client else "unknown"


def identity_providers(request: Request, settings: Settings) -> IdentityProviders:
    """The process's provider verifiers (and JWKS cache), made on first use and kept on the app."""
    providers: IdentityProviders | None = getattr(request.app.state, "identity_providers", None)
    if providers is None:
        providers = IdentityProviders(settings)
        request.app.state.identity_providers = providers
    return providers


def known_users_of(state: Any) -> KnownUsers:
    """The app's known-users cache (``app.state``), made on first use."""
    known: KnownUsers | None = getattr(state, "known_users", None)
    if known is None:
        known = state.known_users = KnownUsers()
    return known


def known_users(request: Request) -> KnownUsers:
    return known_users_of(request.app.state)


def verified_tokens(request: Request) -> VerifiedTokens:
    tokens: VerifiedTokens | None = getattr(request.app.state, "verified_tokens", None)
    if tokens is None:
        tokens = request.app.state.verified_tokens = VerifiedTokens()
    return tokens


async def _own_token(request: Request, runtime: Runtime, token: str) -> Principal | None:
    """The principal of one of our access tokens; None when the token is not ours."""
    settings = runtime.settings
    tokens = verified_tokens(request)
    user_id = tokens.user_id(token)
    if user_id is None:
        claims = unverified_claims(token)
        if claims is None or claims.get("iss") != ISSUER:
            return None
        try:
            user_id, expires_at = verify_access_token(settings, token)
        except jwt.ExpiredSignatureError:
            raise _invalid("token", "expired", expired=True) from None
        except (jwt.InvalidTokenError, ValueError):
            raise _invalid("token", "invalid") from None
        tokens.add(token, user_id, expires_at)
    known = known_users(request)
    if user_id not in known:
        if not await user_exists(runtime.db, user_id):
            raise _invalid("token", "unknown_user")
        known.add(user_id)
    return Principal.of_user(user_id, "token", settings)


async def resolve_bearer(request: Request, runtime: Runtime, token: str) -> Principal:
    """The principal behind a bearer credential; 401 ``invalid_token``/``token_expired`` otherwise."""
    if (principal := await _own_token(request, runtime, token)) is not None:
        return principal
    async with runtime.db.session() as session:
        return await _other_credential(request, session, runtime.settings, token, unverified_claims(token))


async def _other_credential(
    request: Request, session: AsyncSession, settings: Settings, token: str, claims: dict[str, Any] | None
) -> Principal:
    """API keys, environment keys and external providers' tokens (each needs the database)."""
    if (key := await find_api_key(session, token)) is not None:
        user = await session.get(User, key.user_id)
        if user is None or user.deleted_at is not None:
            raise _invalid("api_key", "unknown_user")
        return Principal.of_user(user.id, "api_key", settings, key=key)
    if (name := match_env_key(settings, token)) is not None:
        user = await env_key_user(session, settings, name)
        return Principal.of_user(user.id, "env_key", settings)
    providers = identity_providers(request, settings)
    provider = providers.for_issuer(claims.get("iss")) if claims else None
    if provider is None:
        raise _invalid("bearer", "unrecognized")
    try:
        identity = await providers.verify(provider, token)
    except ProviderTokenError as exc:
        raise _invalid(provider.name, exc.reason, expired=exc.expired) from None
    user = await sync_external_user(
        session,
        settings,
        provider=identity.provider,
        external_id=identity.subject,
        email=identity.email if identity.email_verified else None,
        name=identity.name,
        picture_url=identity.picture_url,
    )
    return Principal.of_user(user.id, provider.name, settings)


async def check_bearer(request: Request) -> Principal:
    """The caller of ``request`` from its ``Authorization`` header alone (401 like the dependency).

    For a failure path that answers before the route's dependencies run (a body that is not
    JSON, :mod:`conjure.kit.contract`): no rate-limit hit for a valid caller, since the request
    does nothing; an invalid credential counts against the IP as in :func:`get_current_principal`.
    """
    authorization = request.headers.get("authorization")
    require_bearer_header(authorization)
    assert authorization is not None
    runtime: Runtime = request.app.state.runtime
    token = authorization.partition(" ")[2].strip()
    try:
        return await resolve_bearer(request, runtime, token)
    except Unauthorized as exc:
        if exc.code == "invalid_token":
            spec = runtime.settings.rate_limit_anonymous
            await runtime.limiter.hit("anonymous", client_ip(request), spec, on_outage=Outage.LOCAL)
        raise


class PrincipalBearer(HTTPBearer):
    """The caller of a request, as one dependency: the bearer scheme (so OpenAPI's "Authorize"
    still knows it) and the resolution in one callable.

    A dependency that needed the bearer scheme, the runtime and the response as dependencies of
    its own cost the hot routes three more resolutions per request in FastAPI (about a sixth of
    a status poll's CPU); ``Request`` and ``Response`` are handed in directly.
    """

    async def __call__(self, request: Request, response: Response) -> Principal:  # type: ignore[override]
        """The authenticated caller, after counting the request against its default rate limit."""
        token = _bearer(await super().__call__(request))
        runtime: Runtime = request.app.state.runtime
        try:
            principal = await resolve_bearer(request, runtime, token)
        except Unauthorized as exc:
            # Invalid credentials count against the caller's IP, so guessing keys is throttled too
            # (expired tokens are honest clients about to refresh; they are not counted).
            if exc.code == "invalid_token":
                spec = runtime.settings.rate_limit_anonymous
                await runtime.limiter.hit("anonymous", client_ip(request), spec, on_outage=Outage.LOCAL)
            raise
        request.state.user_id = principal.user_id
        policy = outage_policy(request)
        tightest: LimitState | None = None
        for bucket, spec in principal.buckets():
            state = await runtime.limiter.hit("default", bucket, spec, on_outage=policy)
            if state is not None and (tightest is None or state.remaining < tightest.remaining):
                tightest = state
        if tightest is not None:
            response.headers.update(tightest.headers())
        return principal


# The same scheme name as ``BearerCredentials``: one "bearer" scheme in the OpenAPI document.
get_current_principal = PrincipalBearer(
    auto_error=False, scheme_name="bearer", description=_BEARER_DESCRIPTION
)
CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]


async def get_current_user(principal: CurrentPrincipal, session: SessionDep) -> User:
    """The signed-in user's row, loaded in the route's own session (so changes to it are saved)."""
    user = await session.get(User, principal.user_id)
    if user is None or user.deleted_at is not None:
        raise _invalid(principal.method, "unknown_user")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


# Credentials that stand for the person signed in (not a key they made).
IN_PERSON = frozenset({"token", "clerk", "auth0", "firebase"})


async def get_user_in_person(principal: CurrentPrincipal, user: CurrentUser) -> User:
    """The signed-in user when the request is made with their own sign-in, not an API key; 403
    ``signed_in_required`` otherwise. API keys are made and revoked, and sign-ins linked and
    removed, this way only: a leaked key cannot mint keys (or link a password) that outlive its own
    revocation, nor revoke its owner's other keys or remove their sign-ins."""
    if principal.method not in IN_PERSON:
        raise Forbidden(
            "API keys and sign-ins are managed with your own sign-in, not with an API key.",
            code="signed_in_required",
        )
    return user


UserInPerson = Annotated[User, Depends(get_user_in_person)]


async def get_admin_user(user: CurrentUser) -> User:
    """The signed-in user when they have the admin role; 403 otherwise."""
    if not user.is_admin:
        raise Forbidden("This needs the admin role.")
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]
