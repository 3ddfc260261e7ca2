"""FastAPI dependencies that resolve the caller: ``CurrentUser`` and ``AdminUser``."""

from __future__ import annotations

from typing import Annotated

import jwt
from fastapi import Depends, Request

from conjure.auth.tokens import decode_access_token
from conjure.deps import SessionDep, SettingsDep
from conjure.errors import Forbidden, Unauthorized
from conjure.users.models import User


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(
            "Send `Authorization: Bearer <token>`.",
            code="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


async def get_current_user(request: Request, session: SessionDep, settings: SettingsDep) -> User:
    """The signed-in user, from a valid bearer token."""
    token = _bearer(request)
    try:
        user_id = decode_access_token(settings, token)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The token has expired.", code="token_expired") from None
    except (jwt.InvalidTokenError, ValueError):
        raise Unauthorized("The token is not valid.", code="invalid_token") from None
    user = await session.get(User, user_id)
    if user is None:
        raise Unauthorized("The token is not valid.", code="invalid_token")
    request.state.user_id = user.id
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("This needs the admin role.")
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]
