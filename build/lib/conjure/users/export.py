"""A person's data as JSON (``GET /api/v1/me/export``): profile, sign-ins, ledger, jobs, payments, apps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.auth.identities import list_identities
from conjure.db import utcnow
from conjure.jobs.models import Job
from conjure.kit.spec import AppSpec
from conjure.payments.models import Payment
from conjure.users.models import User
from conjure.users.schemas import UserOut
from conjure.wallet.models import WalletTransaction


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


async def export_user_data(session: AsyncSession, apps: Sequence[AppSpec], user: User) -> dict[str, Any]:
    """Everything Conjure keeps about ``user``, in one JSON-ready document."""
    ledger = (
        await session.execute(
            select(WalletTransaction)
            .where(WalletTransaction.user_id == user.id)
            .order_by(WalletTransaction.seq)
        )
    ).scalars()
    jobs = (
        await session.execute(select(Job).where(Job.user_id == user.id).order_by(Job.created_at))
    ).scalars()
    payments = (
        await session.execute(select(Payment).where(Payment.user_id == user.id).order_by(Payment.created_at))
    ).scalars()
    app_data = {app.name: await app.export_user(session, user.id) for app in apps if app.export_user}
    return {
        "exported_at": utcnow().isoformat(),
        "profile": UserOut.model_validate(user).model_dump(mode="json"),
        "identities": [
            {"provider": row.provider, "subject": row.subject, "created_at": _time(row.created_at)}
            for row in await list_identities(session, user.id)
        ],
        "ledger": [
            {
                "seq": row.seq,
                "type": row.transaction_type,
                "amount": row.amount,
                "currency": row.currency,
                "balance_after": row.balance_after,
                "held_change": row.held_change,
                "metadata": row.meta,
                "created_at": _time(row.created_at),
            }
            for row in ledger
        ],
        "jobs": [
            {
                "id": str(job.id),
                "kind": job.kind,
                "status": job.status,
                "payload": job.payload,
                "result": job.result,
                "error_code": job.error_code,
                "price_stars": job.price_stars,
                "created_at": _time(job.created_at),
                "finished_at": _time(job.finished_at),
            }
            for job in jobs
        ],
        "payments": [
            {
                "id": str(p.id),
                "amount": p.amount,
                "currency": p.currency,
                "status": p.status,
                "package": p.package_type,
                "stars": p.total_stars,
                "amount_refunded": p.amount_refunded,
                "created_at": _time(p.created_at),
            }
            for p in payments
        ],
        "apps": app_data,
    }
