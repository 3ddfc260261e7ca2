"""HTTP routes of the users domain."""

from __future__ import annotations

from fastapi import APIRouter

from conjure.auth.deps import CurrentUser
from conjure.users.schemas import UserOut

router = APIRouter(tags=["users"])


@router.get("/api/v1/me", responses={401: {"description": "Not signed in"}})
async def me(user: CurrentUser) -> UserOut:
    """The signed-in user: identity, role and balances."""
    return UserOut.model_validate(user)
