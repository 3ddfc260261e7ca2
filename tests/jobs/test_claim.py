"""Claims that are lost (a stalled worker's lease ran out and another took the job): the zombie's
late acknowledgement or heartbeat must not take the rescuer's broker entry."""

from __future__ import annotations

from conjure.jobs.attempt import Claim
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.runner import Runner
from conjure.runtime import Runtime
from tests.jobs.conftest import expire_lease, load, submit


async def rescue(runtime: Runtime) -> tuple[Job, Claim, Claim, Runner, Runner]:
    """A job whose first worker stalled past its lease and was taken over (the same entry)."""
    job = await submit(runtime, "t.noop", {"n": 1})
    [delivery] = await runtime.broker.fetch("zombie", 10, 100)
    zombie, rescuer = Runner(runtime, "zombie"), Runner(runtime, "rescuer")
    [zclaim], _ = await zombie.claim([delivery])
    await expire_lease(runtime, job.id)
    [taken] = await runtime.broker.reclaim("rescuer", 0, 10)
    assert taken.ref == delivery.ref  # XAUTOCLAIM keeps the entry id
    [rclaim], _ = await rescuer.claim([taken])
    return job, zclaim, rclaim, zombie, rescuer


async def test_a_lost_claim_leaves_the_rescuers_entry_pending(engine: Runtime) -> None:
    job, zclaim, rclaim, zombie, rescuer = await rescue(engine)
    await zombie.run(zclaim)  # the zombie wakes up, finds its claim lost and acknowledges
    assert (await load(engine, job.id)).status == JobStatus.PROCESSING
    assert (await engine.broker.stats()).pending == 1  # still reclaimable should the rescuer die
    await rescuer.run(rclaim)
    assert (await load(engine, job.id)).status == JobStatus.SUCCEEDED
    assert (await engine.broker.stats()).pending == 0


async def test_a_zombies_heartbeat_does_not_take_the_entry_back(engine: Runtime) -> None:
    job, zclaim, rclaim, zombie, rescuer = await rescue(engine)
    await zombie.heartbeat([zclaim])  # not its job any more: neither lease nor entry
    await zombie.run(zclaim)
    assert (await engine.broker.stats()).pending == 1
    assert (await load(engine, job.id)).worker_id == "rescuer"
    await rescuer.run(rclaim)
    assert (await engine.broker.stats()).pending == 0
