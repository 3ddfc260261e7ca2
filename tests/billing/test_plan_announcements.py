"""A subscription change reaches every process's plan cache at once: the process that applies it
(here a worker applying Stripe's events) announces it on Redis once committed, and every listening
process forgets the user's cached plan, so their next job gets the new plan's class (a process that
does not listen keeps its cached plan until ``PLAN_CACHE_SECONDS``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from conjure.announcements import PLANS_CHANGED, listen
from conjure.jobs.lanes import Priority
from conjure.kit.submit import plan_priority
from conjure.runtime import Runtime
from tests.billing.conftest import Billing

BillingFactory = Callable[..., Awaitable[Billing]]


async def test_every_listening_process_drops_a_changed_plan_at_once(
    billing_factory: BillingFactory, pg_url: str, redis_url: str
) -> None:
    billing = await billing_factory(database_url=pg_url, redis_url=redis_url)
    # Two other processes whose cached plan would otherwise last an hour.
    settings = billing.shop.runtime.settings.model_copy(update={"plan_cache_seconds": 3600.0})
    listening, deaf = await Runtime.start(settings), await Runtime.start(settings)
    assert listening.redis is not None
    assert listening.plan_cache is not None
    subscribed = asyncio.Event()
    task = asyncio.create_task(
        listen(listening.redis, {PLANS_CHANGED: listening.plan_cache}, listening=subscribed)
    )
    try:
        await asyncio.wait_for(subscribed.wait(), 10)
        user, headers = await billing.user()
        for process in (billing.shop.runtime, listening, deaf):
            assert await plan_priority(process, user.id) == Priority.NORMAL  # free: cached now

        _, events = await billing.checkout(headers, "pro")  # queue_lane "priority"
        await billing.run(events)
        # The applying process forgot it in its own cache as the change committed.
        assert await plan_priority(billing.shop.runtime, user.id) == Priority.HIGH

        for _ in range(100):
            if await plan_priority(listening, user.id) == Priority.HIGH:
                break
            await asyncio.sleep(0.02)
        assert await plan_priority(listening, user.id) == Priority.HIGH
        assert await plan_priority(deaf, user.id) == Priority.NORMAL  # its cache time bounds it
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await listening.close()
        await deaf.close()
