"""The scheduler's idle cost: with nothing to move it sleeps (one broker tick a second, not one
per poll), yet a retry this process schedules meanwhile is moved on time; its once-a-second
question to the database says when deadlines or parked jobs have work (both backends)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

from conjure.db import utcnow
from conjure.jobs.scheduler import IDLE_PAUSE_SECONDS, Scheduler, due_work
from conjure.runtime import Runtime
from tests.jobs.conftest import load, submit


async def test_an_idle_scheduler_backs_off_and_wakes_for_a_retry_it_schedules(engine: Runtime) -> None:
    poll = engine.settings.job_scheduler_poll_seconds  # 0.05 s in these tests
    scheduler = Scheduler(engine)
    await scheduler.start()
    try:
        await asyncio.sleep(0.5)  # the first pass (reconcile, gauges) is done
        before = scheduler.ticks
        await asyncio.sleep(2.0)
        # At the poll's pace this would be ~40 ticks; idle, about one a second.
        assert scheduler.ticks - before <= 2.0 / IDLE_PAUSE_SECONDS + 2

        due = time.time() + 0.2
        await engine.broker.dispatch_later(uuid.uuid4(), due)
        while (await engine.broker.stats()).ready == 0:
            assert time.time() < due + 5.0
            await asyncio.sleep(0.005)
        late = time.time() - due
        # Moved when due (the sleeping loop was woken for it), not at the idle pause's end.
        assert late < max(poll * 4, 0.3), late
    finally:
        await scheduler.stop()


async def test_due_work_says_when_deadlines_or_parked_jobs_have_work(engine: Runtime) -> None:
    assert await due_work(engine.db) == (False, False)
    job = await submit(engine, "t.noop", start_deadline=utcnow() + dt.timedelta(seconds=0.3))
    assert await due_work(engine.db) == (False, False)  # its deadline is still ahead
    await asyncio.sleep(0.4)
    assert await due_work(engine.db) == (True, False)
    scheduler = Scheduler(engine)
    await scheduler.sweep()
    assert await due_work(engine.db) == (False, False)  # canceled by the sweep
    assert (await load(engine, job.id)).error_code == "deadline"
