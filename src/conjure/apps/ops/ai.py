"""Every ops model call goes through :func:`run_ai`: budget, rate limit, the model, cost, audit.

1. **Budget**: a station whose spend this calendar month (UTC) has reached its
   ``ai_monthly_budget_usd`` gets no AI; its owners get one alert that month (an ``ops_alerts``
   row and an ``ops.alert`` event on each owner's event stream). The month is the
   key of ``ops_ai_usage``, so the budget resets by itself on the 1st.
2. **Rate**: ``OPS_AI_RATE_LIMIT`` (50/minute) per station, on the platform's limiter (Redis
   when configured, so every process shares it).
3. **Model**: the platform's provider chain (``AI_PROVIDER``); the primary model (GPT-4o class)
   for text a customer reads, the cheaper one for classification and scoring; ``offline`` by
   default. Provider settings: OpenAI's API does not train on API data by default and the
   calls carry no opt-in; Gemini is used through the paid API (no training on prompts).
4. **Cost and audit**: tokens × the model's price (``OPS_AI_PRICES``) is added to the month's
   spend, and one append-only ``ops_ai_audit`` row names the station, actor, input reference
   (never the customer's text), output, model, tokens, cost and level. An output's ``text`` (a
   reply draft) is sealed (``texts.seal_output``) like the messages' text, with the customer's
   own key when the call is about one (:mod:`conjure.apps.ops.customer_keys`: erasure deletes it).

Any refusal raises :class:`AIUnavailable`; callers then treat the message as Level 3.
Each step uses its own short transaction (never one held across the model call).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import structlog
from pydantic import BaseModel
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.ai.chain import ModelChain
from conjure.apps.ops import customer_keys, texts
from conjure.apps.ops.crypto import CustomerCipher, PIICipher, cipher_for
from conjure.apps.ops.models import AIUsage, Alert, AuditEntry, Station
from conjure.apps.ops.settings import OpsSettings
from conjure.apps.ops.stations import owner_ids
from conjure.db import Database, insert_ignore, new_id, utcnow
from conjure.events.service import publish_many_after_commit
from conjure.events.types import NewEvent, UserEventHub
from conjure.ratelimit.service import RateLimited, RateLimiter
from conjure.settings import Settings

log = structlog.get_logger("conjure.apps.ops.ai")
T = TypeVar("T", bound=BaseModel)


class AIUnavailable(Exception):
    """No AI for this call: ``over_budget``, ``rate_limited`` or ``model_failed``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AIResult(Generic[T]):
    output: T
    audit_id: uuid.UUID
    model: str
    cost_usd: float


def month_of(now: dt.datetime) -> str:
    return now.strftime("%Y-%m")


def estimate_tokens(text: str) -> int:
    """About four characters a token (used when a provider reports none, e.g. offline)."""
    return max(1, len(text) // 4)


async def _usage_row(session: AsyncSession, station_id: uuid.UUID, month: str) -> AIUsage:
    values = {"station_id": station_id, "month": month, "cost_usd": 0.0, "requests": 0}
    await insert_ignore(session, cast(Table, AIUsage.__table__), values)
    stmt = select(AIUsage).where(AIUsage.station_id == station_id, AIUsage.month == month)
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()


async def spent(session: AsyncSession, station_id: uuid.UUID, month: str) -> tuple[float, int]:
    stmt = select(AIUsage.cost_usd, AIUsage.requests).where(
        AIUsage.station_id == station_id, AIUsage.month == month
    )
    row = (await session.execute(stmt)).first()
    return (float(row[0]), int(row[1])) if row else (0.0, 0)


async def _check_budget(
    db: Database, station_id: uuid.UUID, now: dt.datetime, events: UserEventHub | None
) -> Station:
    async with db.session() as session:
        station = await session.get(Station, station_id)
        if station is None:
            raise AIUnavailable("no_station")
        usage = await _usage_row(session, station_id, month_of(now))
        if usage.cost_usd < station.ai_monthly_budget_usd:
            return station
        first_time = (
            update(AIUsage)
            .where(
                AIUsage.station_id == station_id, AIUsage.month == usage.month, AIUsage.alerted_at.is_(None)
            )
            .values(alerted_at=now)
        )
        if cast(Any, await session.execute(first_time)).rowcount == 1:
            alert = Alert(
                station_id=station_id,
                kind="ai_budget_exhausted",
                message=f"The AI budget of ${station.ai_monthly_budget_usd:.2f} for {usage.month} is "
                "spent: every message now goes to a person (Level 3) until the budget is raised "
                "or the month ends.",
            )
            session.add(alert)
            if events is not None:
                data = {"station_id": str(station_id), "kind": alert.kind, "message": alert.message}
                owners = await owner_ids(session, station_id)
                publish_many_after_commit(session, events, [NewEvent(o, "ops.alert", data) for o in owners])
            log.warning("ops_ai_budget_exhausted", station_id=str(station_id), month=usage.month)
    raise AIUnavailable("over_budget")


async def run_ai(
    db: Database,
    settings: Settings,
    limiter: RateLimiter,
    station_id: uuid.UUID,
    *,
    task: str,
    actor: str,
    input_ref: str,
    critical: bool,
    instructions: str,
    prompt: str,
    output_type: type[T],
    offline: Callable[[], T],
    level: int | None = None,
    events: UserEventHub | None = None,
    customer_id: uuid.UUID | None = None,
) -> AIResult[T]:
    """One audited, budgeted, rate-limited model call for a station (see the module's docstring).

    ``events``: the users' event stream, where owners get an ``ops.alert`` when the budget runs out.
    ``customer_id``: the customer the call is about; an output's text is sealed with their key.
    """
    ops = settings.for_app(OpsSettings)
    now = utcnow()
    await _check_budget(db, station_id, now, events)
    try:
        await limiter.hit("ops_ai", str(station_id), ops.ops_ai_rate_limit)
    except RateLimited:
        raise AIUnavailable("rate_limited") from None
    model_name = ops.ops_ai_model_primary if critical else ops.ops_ai_model_cheap
    chain = ModelChain(settings.model_copy(update={"openai_model": model_name}))
    try:
        outcome = await chain.run(
            task, output_type=output_type, instructions=instructions, prompt=prompt, offline=offline
        )
    except Exception as exc:
        log.warning("ops_ai_failed", task=task, error_type=type(exc).__name__)
        raise AIUnavailable("model_failed") from None
    output, step = outcome.output, outcome.usage
    input_tokens = step.input_tokens or estimate_tokens(instructions + prompt)
    output_tokens = step.output_tokens or estimate_tokens(output.model_dump_json())
    price_in, price_out = ops.price_of(step.model)
    cost = round((input_tokens * price_in + output_tokens * price_out) / 1_000_000, 8)
    async with db.session() as session:
        await _usage_row(session, station_id, month_of(now))
        await session.execute(
            update(AIUsage)
            .where(AIUsage.station_id == station_id, AIUsage.month == month_of(now))
            .values(cost_usd=AIUsage.cost_usd + cost, requests=AIUsage.requests + 1)
        )
        entry_id, cipher = new_id(), cipher_for(settings)
        entry = AuditEntry(
            id=entry_id,
            station_id=station_id,
            action=task,
            actor=actor,
            input_ref=input_ref,
            output=await customer_keys.seal_audit_output(
                session, cipher, station_id, entry_id, output.model_dump(mode="json"), customer_id
            ),
            provider=step.provider,
            model=step.model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost,
            level=level,
        )
        session.add(entry)
        await session.flush()
        audit_id = entry.id
    return AIResult(output=output, audit_id=audit_id, model=step.model, cost_usd=cost)


def record_decision(
    session: AsyncSession,
    station_id: uuid.UUID,
    *,
    action: str,
    actor: str,
    input_ref: str,
    refers_to: uuid.UUID | None,
    output: dict[str, Any] | None = None,
    level: int | None = None,
    cipher: PIICipher | None = None,
    customer: CustomerCipher | None = None,
) -> None:
    """An audit row for what a person (or the Level 1 rule) did with an AI output; an output with
    a ``text`` (an edited draft) needs the ``cipher`` to seal it, and the ``customer``'s when it is
    about one (``customer_keys.sealing_cipher``)."""
    entry_id = new_id()
    if output is not None and "text" in output:
        assert cipher is not None, "an audit output with text is sealed"
        output = texts.seal_output(cipher, station_id, entry_id, output, customer)
    session.add(
        AuditEntry(
            id=entry_id,
            station_id=station_id,
            action=action,
            actor=actor,
            input_ref=input_ref,
            output=output,
            refers_to=refers_to,
            level=level,
        )
    )
