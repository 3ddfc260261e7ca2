"""Test helpers that make users and their auth headers through the real services."""

from __future__ import annotations

from conjure.auth.tokens import issue_access_token
from conjure.runtime import Runtime
from conjure.users.models import Role, User
from conjure.users.service import create_user


async def make_user(
    runtime: Runtime, *, email: str | None = None, stars: int = 0, coins: int = 0, admin: bool = False
) -> User:
    """A user with the given balances, credited through the wallet so the ledger stays consistent."""
    import uuid

    from conjure.wallet.service import credit

    async with runtime.db.session() as session:
        user = await create_user(
            session, runtime.settings, email=email or f"{uuid.uuid4().hex[:10]}@example.com"
        )
        for currency, amount in (("star", stars), ("coin", coins)):
            if amount > 0:
                await credit(
                    session,
                    user.id,
                    amount=amount,
                    currency=currency,
                    tx_type="grant",
                    idempotency_key=f"factory:{user.id}:{currency}",
                    metadata={"reason": "test factory"},
                )
        if admin:
            user.role = Role.ADMIN
    return user


def auth_headers(runtime: Runtime, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_access_token(runtime.settings, user.id)}"}
