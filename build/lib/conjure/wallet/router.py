"""HTTP routes of the wallet domain: balances, ledger, invites, coin exchange, admin grants."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from conjure.auth.deps import AdminUser, CurrentUser
from conjure.deps import SessionDep, SettingsDep
from conjure.errors import NotFound
from conjure.kit.paging import Page, PageDep
from conjure.kit.problems import problems
from conjure.users.models import User
from conjure.wallet import invites, service
from conjure.wallet.schemas import (
    AdminWalletOut,
    ExchangeIn,
    ExchangeOut,
    FlaggedInviterOut,
    GrantIn,
    GrantOut,
    InviteOut,
    TransactionOut,
    TransactionPage,
    WalletOut,
)

router = APIRouter(tags=["wallet"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
ERRORS_401: dict[int | str, dict[str, Any]] = {401: {"description": "Not signed in", **_PROBLEM}}
MAX_SEQ = 2**63 - 1  # a ledger seq is a 64-bit integer; larger is a 422, not an overflow


@router.get("/api/v1/user/wallet", responses=ERRORS_401)
async def my_wallet(user: CurrentUser, session: SessionDep, settings: SettingsDep) -> WalletOut:
    """The caller's stars, coins and held stars."""
    wallet = await service.get_wallet(session, user.id)
    return WalletOut.of(wallet, coins_per_star=settings.coins_per_star)


@router.get("/api/v1/user/wallet/transactions", responses=problems(401, 422))
async def my_transactions(
    user: CurrentUser,
    session: SessionDep,
    page: PageDep,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_SEQ, description="Deprecated: `next_before` of the previous page.")
    ] = None,
) -> TransactionPage:
    """The caller's ledger, newest first (``before`` still narrows it to older entries)."""
    rows = await service.list_transactions(
        session, user.id, limit=page.limit, before=before, offset=page.offset
    )
    total = await service.count_transactions(session, user.id, before=before)
    next_before = rows[-1].seq if len(rows) == page.limit and rows[-1].seq > 1 else None
    return TransactionPage(
        items=[TransactionOut.of(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
        next_before=next_before,
    )


@router.get(
    "/api/v1/user/wallet/{user_id}",
    responses={**ERRORS_401, 404: {"description": "Not the caller's wallet", **_PROBLEM}},
)
async def wallet_by_id(
    user_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> WalletOut:
    """A wallet by user id: the caller's own only (anyone else's is 404, not 403)."""
    if user_id != str(user.id):
        raise NotFound("No such wallet.")
    wallet = await service.get_wallet(session, user.id)
    return WalletOut.of(wallet, coins_per_star=settings.coins_per_star)


@router.post("/api/v1/user/invite", responses=ERRORS_401)
async def my_invite(user: CurrentUser, settings: SettingsDep) -> InviteOut:
    """The caller's invite code and a link to share; both sides earn coins on sign-up."""
    base = settings.public_base_url.rstrip("/")
    return InviteOut(
        invite_code=user.invite_code,
        invite_link=f"{base}/?invite={user.invite_code}",
        total_invites=user.total_invites,
    )


@router.post(
    "/api/v1/exchange-coins",
    responses={**ERRORS_401, 402: {"description": "Not enough coins (insufficient_coins)", **_PROBLEM}},
)
async def exchange_coins(
    body: ExchangeIn, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ExchangeOut:
    """Buy whole stars with coins at `COINS_PER_STAR`."""
    result = await service.exchange_coins(session, settings, user.id, stars=body.stars)
    wallet = WalletOut.of(result.wallet, coins_per_star=settings.coins_per_star)
    return ExchangeOut(stars=result.stars, coins_spent=result.coins_spent, wallet=wallet)


@router.post(
    "/api/v1/admin/wallet/grant",
    tags=["admin"],
    responses={
        **ERRORS_401,
        403: {"description": "Not an admin", **_PROBLEM},
        404: {"description": "No such user", **_PROBLEM},
        402: {"description": "A revoke larger than what can be taken", **_PROBLEM},
    },
)
async def admin_grant(
    body: GrantIn, admin: AdminUser, session: SessionDep, settings: SettingsDep
) -> GrantOut:
    """Grant (positive) or revoke (negative) stars or coins, with a reason kept in the ledger."""
    row = await service.grant(
        session,
        body.user_id,
        currency=body.currency,
        amount=body.amount,
        reason=body.reason,
        actor_id=admin.id,
    )
    wallet = await service.get_wallet(session, body.user_id)
    return GrantOut(
        transaction=TransactionOut.of(row),
        wallet=WalletOut.of(wallet, coins_per_star=settings.coins_per_star),
    )


@router.get(
    "/api/v1/admin/users/{user_id}/wallet",
    tags=["admin"],
    responses={**ERRORS_401, 403: {"description": "Not an admin", **_PROBLEM}, 404: {**_PROBLEM}},
)
async def admin_wallet(
    user_id: uuid.UUID,
    admin: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> AdminWalletOut:
    """Any user's wallet and recent ledger, for the operator console."""
    target = await session.get(User, user_id)
    if target is None:
        raise NotFound("No such user.")
    wallet = await service.get_wallet(session, user_id)
    rows = await service.list_transactions(session, user_id, limit=limit)
    return AdminWalletOut(
        wallet=WalletOut.of(wallet, coins_per_star=settings.coins_per_star),
        email=target.email,
        invited_by=target.invited_by,
        transactions=[TransactionOut.of(r) for r in rows],
    )


@router.get(
    "/api/v1/admin/invites/flagged",
    tags=["admin"],
    responses={**ERRORS_401, 403: {"description": "Not an admin", **_PROBLEM}},
)
async def admin_flagged_inviters(
    _admin: AdminUser, session: SessionDep, page: PageDep
) -> Page[FlaggedInviterOut]:
    """Inviters with suspicious invite bursts or a reward cap reached, most recent first."""
    items, total = await invites.flagged_inviters(session, page)
    out = [FlaggedInviterOut.model_validate(item, from_attributes=True) for item in items]
    return Page[FlaggedInviterOut](items=out, total=total, limit=page.limit, offset=page.offset)
