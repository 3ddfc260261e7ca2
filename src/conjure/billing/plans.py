"""Subscription plans (``SUBSCRIPTION_PLANS``) and the limits a user's plan gives them right now.

Apps read limits through :func:`plan_limits_for`, never the subscription rows: a plan applies
while its subscription is active or trialing, and while it is ``past_due`` for
``SUBSCRIPTION_GRACE_DAYS`` after the first failed payment; otherwise the free tier's.

A plan's ``queue_lane`` is the class of its user's jobs (:func:`queue_class`); a submit reads it
through :class:`PlanCache` (per process, ``PLAN_CACHE_SECONDS``), so it costs no round trip.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.billing.models import PAID_STATUSES, Subscription, SubscriptionStatus
from conjure.db import utcnow
from conjure.errors import ConjureError
from conjure.jobs.lanes import Priority
from conjure.settings import Settings, SubscriptionPlan

FREE = SubscriptionPlan(id="free", name="Free")
# A period that just ended keeps its plan this long: the renewal's events may still be on their way.
RENEWAL_LEEWAY = dt.timedelta(hours=1)


class UnknownPlan(ConjureError):
    code, status = "unknown_plan", 422


@dataclass(frozen=True)
class PlanLimits:
    """What the user's plan allows now: its id, and the features/limits apps read by name."""

    plan_id: str
    plan_name: str
    limits: dict[str, Any] = field(default_factory=dict)
    paid: bool = False

    def get(self, name: str, default: Any = None) -> Any:
        """One limit by name (``staging_images_per_month``, ``assistant_daily_messages``, ``queue_lane``)."""
        return self.limits.get(name, default)


def free_plan(settings: Settings) -> SubscriptionPlan:
    """The plan without a Stripe price (the first one), else an empty free tier."""
    return next((p for p in settings.subscription_plans if p.stripe_price_id is None), FREE)


def find_plan(settings: Settings, plan_id: str | None) -> SubscriptionPlan | None:
    return next((p for p in settings.subscription_plans if p.id == plan_id), None)


def paid_plan(settings: Settings, plan_id: str) -> SubscriptionPlan:
    """A plan one can subscribe to, or 422 ``unknown_plan`` listing them."""
    plan = find_plan(settings, plan_id)
    if plan is None or plan.stripe_price_id is None:
        valid = ", ".join(p.id for p in settings.subscription_plans if p.stripe_price_id)
        raise UnknownPlan(f"Unknown plan {plan_id!r}; choose one of: {valid}.")
    return plan


def plan_for_price(settings: Settings, price_id: str | None) -> SubscriptionPlan | None:
    return next((p for p in settings.subscription_plans if price_id and p.stripe_price_id == price_id), None)


def period_allowance(plan: SubscriptionPlan) -> int:
    """Stars one paid period of the plan grants (a yearly plan: twelve months' worth)."""
    return plan.monthly_allowance * (12 if plan.interval == "year" else 1)


def grace_ends(settings: Settings, sub: Subscription) -> dt.datetime | None:
    """When a past_due subscription loses its plan (None unless past_due)."""
    if sub.status != SubscriptionStatus.PAST_DUE or sub.past_due_since is None:
        return None
    return sub.past_due_since + dt.timedelta(days=settings.subscription_grace_days)


def plan_in_effect(settings: Settings, sub: Subscription | None, now: dt.datetime) -> SubscriptionPlan:
    """The plan a subscription gives now: paid for this period, kept through grace, else free."""
    if sub is None:
        return free_plan(settings)
    ends = grace_ends(settings, sub)
    in_grace = ends is not None and now < ends
    if sub.status not in PAID_STATUSES and not in_grace:
        return free_plan(settings)
    if sub.current_period_end is not None and sub.current_period_end + RENEWAL_LEEWAY <= now and not in_grace:
        return free_plan(settings)  # not renewed (yet): no plan past the period it paid for
    plan = find_plan(settings, sub.period_plan_id or sub.plan_id)
    return plan or free_plan(settings)


async def current_subscription(session: AsyncSession, user_id: uuid.UUID) -> Subscription | None:
    """The user's subscription that matters now: a live one first, else the latest."""
    stmt = select(Subscription).where(Subscription.user_id == user_id)
    subs = list((await session.execute(stmt)).scalars())
    if not subs:
        return None
    rank: dict[str, int] = {
        SubscriptionStatus.ACTIVE: 0,
        SubscriptionStatus.TRIALING: 0,
        SubscriptionStatus.PAST_DUE: 1,
        SubscriptionStatus.UNPAID: 2,
        SubscriptionStatus.INCOMPLETE: 3,
        SubscriptionStatus.PAUSED: 3,
    }
    return min(subs, key=lambda s: (rank.get(s.status, 9), -s.created_at.timestamp()))


async def plan_limits_for(
    session: AsyncSession, user_id: uuid.UUID, settings: Settings | None = None
) -> PlanLimits:
    """The limits of the user's plan right now (the free tier's without a live subscription)."""
    settings = settings or Settings()
    now = utcnow()
    plan = plan_in_effect(settings, await current_subscription(session, user_id), now)
    return PlanLimits(plan.id, plan.name, dict(plan.limits), paid=plan.stripe_price_id is not None)


# ``queue_lane`` values -> the class of the plan's jobs (conjure.jobs.lanes has three classes:
# both paid lanes are above the free tier's; operator re-drives share the top class).
QUEUE_LANES: dict[str, Priority] = {
    "batch": Priority.BATCH,
    "standard": Priority.NORMAL,
    "normal": Priority.NORMAL,
    "fast": Priority.HIGH,
    "priority": Priority.HIGH,
    "high": Priority.HIGH,
}


def queue_class(limits: PlanLimits) -> Priority:
    """The class of the user's jobs by their plan's ``queue_lane`` (unset or unknown: normal)."""
    lane = limits.get("queue_lane")
    return QUEUE_LANES.get(lane, Priority.NORMAL) if isinstance(lane, str) else Priority.NORMAL


class PlanCache:
    """Each user's plan limits, reused for ``ttl`` seconds by this process (bounded, oldest out).

    A submit reads the class of its job here; only a miss costs a query. A subscription change
    is announced to every process, which forgets the user here (:mod:`conjure.announcements`);
    ``ttl`` (``PLAN_CACHE_SECONDS``) bounds it when an announcement is lost.
    """

    def __init__(self, settings: Settings, ttl: float | None = None, size: int = 10_000) -> None:
        self.settings = settings
        self.ttl = settings.plan_cache_seconds if ttl is None else ttl
        self.size = size
        self._entries: OrderedDict[uuid.UUID, tuple[float, PlanLimits]] = OrderedDict()

    def cached(self, user_id: uuid.UUID) -> PlanLimits | None:
        entry = self._entries.get(user_id)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    async def limits(self, session: AsyncSession, user_id: uuid.UUID) -> PlanLimits:
        """The user's plan limits: cached, else read in ``session`` and kept."""
        found = self.cached(user_id)
        if found is None:
            found = await plan_limits_for(session, user_id, self.settings)
            self.keep(user_id, found)
        return found

    def keep(self, user_id: uuid.UUID, limits: PlanLimits) -> None:
        if self.ttl <= 0:
            return
        self._entries[user_id] = (time.monotonic() + self.ttl, limits)
        self._entries.move_to_end(user_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, user_id: uuid.UUID) -> None:
        """Drop a user's entry (their plan changed)."""
        self._entries.pop(user_id, None)

    def clear(self) -> None:
        """Drop every entry (plan changes may have been missed)."""
        self._entries.clear()
