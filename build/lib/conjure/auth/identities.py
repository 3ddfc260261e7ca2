"""Linked sign-ins: one account (and one wallet) reached by several ways of signing in.

A signed-in user links another identity (email + password, Telegram, Clerk, Auth0,
Firebase) once they have proved they hold it. An identity that already signs in to another
account is refused (409 ``identity_in_use``) unless that account is *pristine*: it has done
nothing but receive its sign-up bonus. Then it is merged: the identity moves over, the bonus
is taken back from the absorbed account by a compensating ledger row (the ledger is
append-only), so the person never holds two bonuses, and the absorbed row stays as an
anonymised tombstone with its balanced ledger.

Errors of this module:

    Conflict  identity_in_use, provider_already_linked, last_identity
    NotFound  not_found (another user's identity, too)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.auth.models import ApiKey, RefreshToken
from conjure.auth.passwords import hash_password, verify_password
from conjure.billing.models import BillingCustomer
from conjure.db import utcnow
from conjure.errors import Conflict, NotFound
from conjure.jobs.models import Job
from conjure.kit.spec import AppSpec
from conjure.payments.models import Payment
from conjure.users.models import IdentityProvider, Role, User, UserIdentity
from conjure.users.service import new_invite_code
from conjure.wallet.models import Currency, TransactionType, UserInvite, WalletTransaction
from conjure.wallet.service import grant, lock_user

log = structlog.get_logger("conjure.auth.identities")


class IdentityInUse(Conflict):
    code = "identity_in_use"


class ProviderAlreadyLinked(Conflict):
    code = "provider_already_linked"


class LastIdentity(Conflict):
    code = "last_identity"


class WrongPassword(Exception):
    """The password of an email + password identity owned by another account did not match."""


@dataclass(frozen=True)
class Proof:
    """An identity the caller has just proved they hold (the router checked the credential).

    For ``password`` the subject is the normalized email and ``password`` the one typed:
    it becomes the account's password, or must match the password of the account that
    already has this email.
    """

    provider: str
    subject: str
    password: str | None = None
    email: str | None = None  # a provider-verified email, kept when the account has none


@dataclass(frozen=True)
class LinkOutcome:
    identity: UserIdentity
    created: bool  # False: it was already this user's
    merged_user_id: uuid.UUID | None = None  # the pristine account absorbed, if any


async def list_identities(session: AsyncSession, user_id: uuid.UUID) -> list[UserIdentity]:
    """The user's ways of signing in, oldest first."""
    stmt = (
        select(UserIdentity)
        .where(UserIdentity.user_id == user_id)
        .order_by(UserIdentity.created_at, UserIdentity.id)
    )
    return list((await session.execute(stmt)).scalars())


async def _identity(session: AsyncSession, provider: str, subject: str) -> UserIdentity | None:
    stmt = select(UserIdentity).where(UserIdentity.provider == provider, UserIdentity.subject == subject)
    return await session.scalar(stmt)


async def link_identity(
    session: AsyncSession, apps: Sequence[AppSpec], user: User, proof: Proof
) -> LinkOutcome:
    """Link ``proof`` to ``user``; merges a pristine account that held it, else 409 ``identity_in_use``."""
    existing = await _identity(session, proof.provider, proof.subject)
    if existing is not None and existing.user_id == user.id:
        return LinkOutcome(existing, created=False)
    same_kind = select(UserIdentity.id).where(
        UserIdentity.user_id == user.id, UserIdentity.provider == proof.provider
    )
    if await session.scalar(same_kind) is not None:
        raise ProviderAlreadyLinked(f"This account already has a {proof.provider} sign-in; remove it first.")
    if existing is None:
        return LinkOutcome(await _add_identity(session, user, proof), created=True)
    owner = await session.get(User, existing.user_id)
    assert owner is not None  # the foreign key
    if proof.provider == IdentityProvider.PASSWORD and not await verify_password(
        owner.password_hash, proof.password or ""
    ):
        raise WrongPassword
    await _absorb(session, apps, target=user, source=owner, identity=existing, proof=proof)
    return LinkOutcome(existing, created=False, merged_user_id=owner.id)


def _in_use() -> IdentityInUse:
    return IdentityInUse(
        "This sign-in already belongs to another account that has been used; "
        "sign in with it and delete that account first, or keep them apart."
    )


async def _add_identity(session: AsyncSession, user: User, proof: Proof) -> UserIdentity:
    if proof.provider == IdentityProvider.PASSWORD:
        # The address must not be another account's (a sign-in elsewhere that has this email).
        other = await session.scalar(select(User.id).where(User.email == proof.subject, User.id != user.id))
        if other is not None:
            raise _in_use()
        user.password_hash = await hash_password(proof.password or "")
        user.email = user.email or proof.subject
    elif proof.email and user.email is None:
        taken = await session.scalar(select(User.id).where(User.email == proof.email))
        user.email = None if taken else proof.email
    row = UserIdentity(user_id=user.id, provider=proof.provider, subject=proof.subject)
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        # Linked to another account by a concurrent request a moment ago.
        raise _in_use() from None
    log.info("identity_linked", user_id=str(user.id), provider=proof.provider)
    return row


async def has_activity(
    session: AsyncSession, apps: Sequence[AppSpec], user_id: uuid.UUID, *, besides: uuid.UUID | None = None
) -> bool:
    """Whether the account did anything beyond receiving its sign-up bonus.

    Anything counts: another ledger row, a job, a payment, a billing customer (a subscription
    begun), an API key, an invite, app data,
    or a sign-in other than ``besides`` (the identity being linked away).
    """
    checks = (
        select(func.count())
        .select_from(WalletTransaction)
        .where(
            WalletTransaction.user_id == user_id,
            WalletTransaction.transaction_type != TransactionType.SIGNUP_BONUS,
        ),
        select(func.count()).select_from(Job).where(Job.user_id == user_id),
        select(func.count()).select_from(Payment).where(Payment.user_id == user_id),
        # A subscription started (even one whose first invoice is unpaid) is activity too.
        select(func.count()).select_from(BillingCustomer).where(BillingCustomer.user_id == user_id),
        select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id),
        select(func.count()).select_from(UserInvite).where(UserInvite.inviter_id == user_id),
        select(func.count())
        .select_from(UserIdentity)
        .where(UserIdentity.user_id == user_id, UserIdentity.id != besides),
    )
    for stmt in checks:
        if await session.scalar(stmt):
            return True
    for app in apps:
        if app.export_user is not None and any((await app.export_user(session, user_id)).values()):
            return True
    return False


async def _absorb(
    session: AsyncSession,
    apps: Sequence[AppSpec],
    *,
    target: User,
    source: User,
    identity: UserIdentity,
    proof: Proof,
) -> None:
    """Move ``identity`` from the pristine ``source`` to ``target`` and close ``source``."""
    # Both rows locked in id order (as every multi-user wallet change does), then re-checked:
    # a job submitted on the source a moment ago makes it no longer pristine.
    for uid in sorted((target.id, source.id)):
        await lock_user(session, uid)
    if source.deleted_at is not None or await has_activity(session, apps, source.id, besides=identity.id):
        raise _in_use()
    reason = f"account merged into {target.id}"
    for currency, balance in ((Currency.STAR, source.star_balance), (Currency.COIN, source.coin_balance)):
        if balance > 0:
            # The bonus is not the person's twice: a compensating row takes it back.
            await grant(
                session,
                source.id,
                currency=currency,
                amount=-balance,
                reason=reason,
                idempotency_key=f"account_merged:{source.id}:{currency}",
            )
    password_hash, email = source.password_hash, source.email
    identity.user_id = target.id
    await session.flush()  # moved before closing the source deletes the source's identities
    await close_account(session, source)
    await session.flush()  # the source's email is released before the target takes it
    if proof.provider == IdentityProvider.PASSWORD:
        target.password_hash = password_hash
    if target.email is None and email:
        target.email = email
    await session.flush()
    log.info("account_merged", user_id=str(target.id), merged_user_id=str(source.id))


async def close_account(session: AsyncSession, user: User) -> None:
    """Anonymise the user row and end every way into it (identities, refresh tokens, API keys, invites).

    The row stays (its ledger and payments are kept for accounting); ``deleted_at`` stops its
    access tokens at the next check (:func:`conjure.users.service.user_exists`).
    """
    now = utcnow()
    user.deleted_at = now
    user.email = user.name = user.picture_url = user.password_hash = None
    user.external_provider = user.external_id = None
    user.role = Role.USER
    # The old code is in links people shared; a closed account must not collect invite rewards.
    user.invite_code = new_invite_code()
    await session.execute(delete(UserIdentity).where(UserIdentity.user_id == user.id))
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(
        update(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None)).values(revoked_at=now)
    )


async def unlink_identity(session: AsyncSession, user: User, identity_id: uuid.UUID) -> None:
    """Remove one of the user's sign-ins; never the last one (409 ``last_identity``)."""
    row = await session.scalar(
        select(UserIdentity).where(UserIdentity.id == identity_id, UserIdentity.user_id == user.id)
    )
    if row is None:
        raise NotFound("No such sign-in on this account.")
    # Locked first, so two concurrent removals cannot each leave the other as the "last" one.
    await lock_user(session, user.id)
    count = await session.scalar(
        select(func.count()).select_from(UserIdentity).where(UserIdentity.user_id == user.id)
    )
    if (count or 0) <= 1:
        raise LastIdentity("This is the only way to sign in to this account; link another one first.")
    await session.delete(row)
    if row.provider == IdentityProvider.PASSWORD:
        user.password_hash = None
    if (user.external_provider, user.external_id) == (row.provider, row.subject):
        # The creating identity is gone: a later first sign-in with it makes a new account.
        user.external_provider = user.external_id = None
    await session.flush()
    log.info("identity_unlinked", user_id=str(user.id), provider=row.provider)
