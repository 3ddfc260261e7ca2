"""HTTP routes of the users domain: the signed-in user, their data export, and deleting the account."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from conjure.auth.deps import BearerCredentials, CurrentPrincipal, CurrentUser, known_users
from conjure.auth.passwords import verify_password
from conjure.auth.tokens import unverified_claims
from conjure.deps import RuntimeDep, SessionDep
from conjure.errors import Forbidden
from conjure.users.erasure import delete_account
from conjure.users.export import export_user_data
from conjure.users.schemas import UserOut

router = APIRouter(tags=["users"])

# DELETE /api/v1/me without a password needs a token issued this recently (a fresh sign-in).
REAUTH_MAX_AGE_SECONDS = 300


class ReauthenticationRequired(Forbidden):
    code = "reauthentication_required"


class DeleteAccountIn(BaseModel):
    password: str | None = Field(
        default=None, max_length=128, description="The account's password (required when it has one)."
    )


@router.get("/api/v1/me", responses={401: {"description": "Not signed in"}})
async def me(user: CurrentUser) -> UserOut:
    """The signed-in user: identity, role and balances."""
    return UserOut.model_validate(user)


@router.get("/api/v1/me/export", responses={401: {"description": "Not signed in"}})
async def export_me(user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> JSONResponse:
    """Everything kept about the caller (profile, sign-ins, ledger, jobs, payments, apps' data) as JSON."""
    data: dict[str, Any] = await export_user_data(session, runtime.apps, user)
    headers = {
        "Content-Disposition": 'attachment; filename="conjure-export.json"',
        "Cache-Control": "no-store",
    }
    return JSONResponse(data, headers=headers)


def _signed_in_recently(principal_method: str, token: str | None) -> bool:
    """Whether the bearer token comes from a sign-in of the last few minutes."""
    if principal_method in ("api_key", "env_key") or token is None:
        return False
    claims = unverified_claims(token) or {}  # verified already by the dependency
    # auth_time: when the person signed in (ours carry it across refreshes; Firebase's too).
    issued = claims.get("auth_time", claims.get("iat"))
    if isinstance(issued, bool) or not isinstance(issued, int | float):
        return False
    return time.time() - issued <= REAUTH_MAX_AGE_SECONDS


@router.delete(
    "/api/v1/me",
    status_code=204,
    responses={
        401: {"description": "Not signed in"},
        403: {"description": "reauthentication_required; wrong_password"},
        413: {"description": "The body is too large (`request_too_large`)"},
    },
)
async def delete_me(
    request: Request,
    principal: CurrentPrincipal,
    credentials: BearerCredentials,
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    body: Annotated[DeleteAccountIn | None, Body()] = None,
) -> Response:
    """Delete the account: personal data and stored images are erased, sign-ins end at once.

    Re-authenticate: send ``{"password"}`` when the account has a password, otherwise call
    with a token issued in the last 5 minutes (sign in again first).
    """
    if user.password_hash is not None:
        password = body.password if body else None
        if not password:
            raise ReauthenticationRequired("Type the account's password to delete it.")
        if not await verify_password(user.password_hash, password):
            raise ReauthenticationRequired("That is not the account's password.", code="wrong_password")
    elif not _signed_in_recently(principal.method, credentials.credentials if credentials else None):
        raise ReauthenticationRequired("Sign in again (within the last 5 minutes) to delete the account.")
    known = known_users(request)
    user_id = user.id
    await delete_account(session, runtime, user, on_committed=lambda: known.forget(user_id))
    return Response(status_code=204)
