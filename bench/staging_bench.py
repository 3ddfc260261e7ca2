"""Staging jobs: throughput on the offline model, and jobs in flight against a Replicate peer that
answers by webhook after 9 s, with one worker.

    python bench/staging_bench.py [--jobs 200] [--webhook-jobs 40] [--delay 9] [--backend embedded|pg_redis]
                                  [--concurrency 10] [--webhook-concurrency 1] [--out staging.json]

Each job is the real ``staging.stage`` job: the original is read from the store, decoded,
the display copy and thumbnails stored, the model called, the staged image and its
thumbnail stored, the image row marked ready with the capture of the hold. The webhook run
shows that waiting jobs use no worker slot: a job waiting for its webhook is parked
(``conjure.jobs.parking``), so the predictions in flight are not bounded by the worker's
concurrency (``--concurrency``, 1 by default for this run) but by how many jobs were submitted.
Writes ``bench/results/staging.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import func, select
from tests.apps.staging.conftest import room_photo
from tests.apps.staging.replicate_peer import SECRET, ReplicatePeer
from tests.factories import make_user

from conjure.app import create_app
from conjure.apps import installed_apps
from conjure.apps.staging.models import StagedImage, Upload
from conjure.apps.staging.schemas import ImageCreate
from conjure.apps.staging.service import create_image, create_project
from conjure.jobs.worker import start_embedded
from conjure.kit.submit import SubmitOptions
from conjure.migrations.runner import upgrade
from conjure.runtime import Runtime
from conjure.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"


@contextlib.contextmanager
def databases(backend: str, tmp: Path) -> Iterator[dict[str, str]]:
    if backend == "embedded":
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        yield {"database_url": url}
        return
    from harness import infrastructure

    with infrastructure("staging_bench") as infra:
        yield {"database_url": infra.database_url, "redis_url": infra.redis_url}


async def run(
    db: dict[str, str], tmp: Path, *, jobs: int, concurrency: int, **extra: Any
) -> tuple[Runtime, list[uuid.UUID], float]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="test",
        var_dir=tmp / "var",
        jwt_secret="bench-" + "x" * 40,
        storage_url=f"file://{tmp / f'objects-{uuid.uuid4().hex[:6]}'}",
        public_base_url="http://bench",
        worker_concurrency=concurrency,
        **db,
        **extra,
    )
    runtime = await Runtime.start(settings, apps=installed_apps())
    user = await make_user(runtime, stars=jobs)
    photo = room_photo(1600, 1200)
    keys = [f"uploads/user_{user.id}/{uuid.uuid4()}.jpg" for _ in range(jobs)]
    for key in keys:
        await runtime.storage.put(key, photo, content_type="image/jpeg")
    async with runtime.db.session() as session:  # what each presign records
        session.add_all(Upload(key=key, user_id=user.id) for key in keys)
    async with runtime.db.session() as session:
        project = await create_project(session, user.id, "bench")
    stop = await start_embedded(runtime)
    started = time.perf_counter()
    ids = []
    for key in keys:
        async with runtime.db.session() as session:
            request = ImageCreate(
                project_id=project.id, upload_key=key, room_type="living_room", style="modern"
            )
            image, _ = await create_image(session, runtime, user.id, request, SubmitOptions())
            ids.append(image.id)
    runtime.__dict__["bench_stop"] = stop
    return runtime, ids, started


async def ready_count(runtime: Runtime, ids: list[uuid.UUID]) -> int:
    async with runtime.db.session() as session:
        count = await session.scalar(
            select(func.count()).where(StagedImage.id.in_(ids), StagedImage.status == "ready")
        )
    return int(count or 0)


async def offline(db: dict[str, str], tmp: Path, jobs: int, concurrency: int) -> dict[str, Any]:
    runtime, ids, started = await run(db, tmp, jobs=jobs, concurrency=concurrency)
    while await ready_count(runtime, ids) < jobs:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await runtime.__dict__["bench_stop"]()
    await runtime.close()
    return {"jobs": jobs, "seconds": round(elapsed, 2), "jobs_per_second": round(jobs / elapsed, 2)}


async def webhook(db: dict[str, str], tmp: Path, jobs: int, concurrency: int, delay: float) -> dict[str, Any]:
    peer = ReplicatePeer().start()
    # The app's settings go to Settings like the platform's (read back with for_app).
    extra: dict[str, Any] = {
        "staging_provider": "replicate",
        "replicate_webhook_secret": SECRET,
        "staging_webhook_grace_seconds": 600,
        "replicate_api_token": "r8_bench",
        "replicate_base_url": peer.url,
    }
    runtime, ids, started = await run(db, tmp, jobs=jobs, concurrency=concurrency, **extra)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://bench"
    )
    sent: set[str] = set()
    peak = 0
    created_at: dict[str, float] = {}
    try:
        while await ready_count(runtime, ids) < jobs:
            now = time.perf_counter()
            for prediction_id in list(peer.predictions):
                created_at.setdefault(prediction_id, now)
                if prediction_id not in sent and now - created_at[prediction_id] >= delay:
                    headers, body = peer.webhook(prediction_id)
                    await client.post("/api/v1/webhooks/replicate", content=body, headers=headers)
                    sent.add(prediction_id)
            peak = max(peak, len(created_at) - len(sent))
            await asyncio.sleep(0.1)
    finally:
        elapsed = time.perf_counter() - started
        await client.aclose()
        await runtime.__dict__["bench_stop"]()
        await runtime.close()
        peer.stop()
    return {
        "jobs": jobs,
        "webhook_delay_seconds": delay,
        "worker_concurrency": concurrency,
        "peak_predictions_in_flight": peak,
        "seconds": round(elapsed, 2),
        "jobs_per_second": round(jobs / elapsed, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--webhook-jobs", type=int, default=40)
    parser.add_argument("--delay", type=float, default=9.0)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--webhook-concurrency", type=int, default=1)
    parser.add_argument("--backend", choices=["embedded", "pg_redis"], default="embedded")
    parser.add_argument("--out", default="staging.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with databases(args.backend, tmp) as db:
            result = {
                "backend": args.backend,
                "offline": asyncio.run(offline(db, tmp, args.jobs, args.concurrency)),
                "webhook": asyncio.run(
                    webhook(db, tmp, args.webhook_jobs, args.webhook_concurrency, args.delay)
                ),
            }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
