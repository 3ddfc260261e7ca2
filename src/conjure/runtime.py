"""The live resources of one process (database, Redis, broker, storage, limiter), made once and passed down.

The API creates a Runtime in its lifespan; ``conjure worker`` creates one at start-up;
``conjure up`` shares one between the API and the embedded worker. Nothing here is
a module-level global, so tests build as many as they need. The apps come from the
caller (the entry points call ``conjure.apps.installed_apps``); this module never imports them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from conjure.announcements import PLANS_CHANGED, Announcer
from conjure.db import Database
from conjure.events.backends import make_connection_slots, make_user_event_hub
from conjure.events.types import ConnectionSlots, UserEventHub
from conjure.jobs.registry import JobKindRegistry
from conjure.settings import Settings

if TYPE_CHECKING:
    from conjure.billing.plans import PlanCache
    from conjure.channels.types import InboundHandler
    from conjure.jobs.broker import Broker
    from conjure.kit.spec import AppSpec
    from conjure.payments.stripe_client import StripeGateway
    from conjure.ratelimit.service import RateLimiter
    from conjure.storage.service import ObjectStore


@dataclass
class Runtime:
    settings: Settings
    db: Database
    redis: aioredis.Redis | None
    broker: Broker
    storage: ObjectStore
    limiter: RateLimiter
    registry: JobKindRegistry
    user_events: UserEventHub  # the per-user event stream (conjure.events)
    sse_slots: ConnectionSlots  # the per-user cap on open SSE streams
    apps: list[AppSpec] = field(default_factory=list)
    # Made on first use by conjure.payments (only when Stripe is configured); closed with the runtime.
    stripe_gateway: StripeGateway | None = None
    # Users' plan limits for the class of their jobs at submit (conjure.kit.submit); made at start.
    plan_cache: PlanCache | None = None
    # Tells this process's caches and every other process's of changes (conjure.announcements).
    announcer: Announcer = field(default_factory=lambda: Announcer(None))
    # Fire-and-forget work that uses the runtime's resources (a scrape's wallet check): ended by
    # close() before the resources it uses are, so none outlives its runtime.
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    async def start(cls, settings: Settings, *, apps: Iterable[AppSpec] | None = None) -> Runtime:
        """Open the process's resources and register the job kinds of ``apps`` (none if not given)."""
        from conjure.billing.plans import PlanCache
        from conjure.jobs.broker import make_broker
        from conjure.jobs.lanes import lane_policy
        from conjure.jobs.redispatch import StoredLanes
        from conjure.ratelimit.service import make_limiter
        from conjure.storage.service import make_storage

        settings.var_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        redis = aioredis.from_url(settings.redis_url) if settings.redis_url else None
        runtime = cls(
            settings=settings,
            db=db,
            redis=redis,
            broker=None,  # type: ignore[arg-type]  # set just below; it needs the runtime
            storage=make_storage(settings),
            limiter=make_limiter(settings, redis),
            registry=JobKindRegistry(),
            user_events=make_user_event_hub(settings, redis),
            sse_slots=make_connection_slots(settings, redis),
        )
        runtime.plan_cache = PlanCache(settings)
        runtime.announcer = Announcer(redis)
        runtime.announcer.register(PLANS_CHANGED, runtime.plan_cache)
        runtime.register_platform_kinds()
        runtime.install(apps or [])
        runtime.broker = make_broker(redis, lane_policy(settings), StoredLanes(db))
        await runtime.broker.start()
        return runtime

    def register_platform_kinds(self) -> None:
        """The platform's own job kinds: billing's Stripe events, ``channels.process``, which
        hands inbound messages to the apps, and ``mail.send``."""
        from conjure.billing.tasks import platform_kinds
        from conjure.channels.tasks import process_kind
        from conjure.channels.types import RUNTIME_SESSION_KEY
        from conjure.mail.tasks import send_kind
        from conjure.mail.transport import warn_if_unconfigured

        for kind in platform_kinds(self.announcer):
            self.registry.register(kind)
        self.registry.register(send_kind())
        warn_if_unconfigured(self.settings)

        # The handlers' signature has no runtime: it rides on their session (to submit jobs).
        self.registry.register(process_kind(self.inbound_handlers, session_info={RUNTIME_SESSION_KEY: self}))

    def inbound_handlers(self) -> list[InboundHandler]:
        """Every installed app's ``on_inbound_message``, in install order."""
        return [app.on_inbound_message for app in self.apps if app.on_inbound_message is not None]

    def install(self, apps: Iterable[AppSpec]) -> None:
        """Register the job kinds of ``apps``; an app already installed (by name) is skipped."""
        installed = {app.name for app in self.apps}
        for app in apps:
            if app.name in installed:
                continue
            for kind in app.job_kinds:
                self.registry.register(kind)
            self.apps.append(app)
            installed.add(app.name)

    async def close(self) -> None:
        from conjure.payments.stripe_client import close_gateway

        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        await close_gateway(self)
        await self.limiter.settled()  # rate-limit counts still on their way to Redis
        await self.broker.close()
        await self.user_events.close()
        await self.sse_slots.close()
        await self.storage.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()
