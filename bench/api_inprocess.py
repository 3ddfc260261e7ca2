"""API CPU per request in process: the ASGI app called directly, no HTTP server, no wrk.

    python bench/api_inprocess.py [--requests 4000 --concurrency 32 --rounds 2]
    python bench/api_inprocess.py --variants before=/tmp/old/src,after=src --rounds 3 [--out FILE]

The app (``create_app``, lifespan run, PostgreSQL + Redis on loopback as in ``api_bench.py``) gets
``--requests`` submits (``POST /api/v1/tarot/read``) then as many polls (``GET /api/v1/reading/{id}``)
from ``--concurrency`` tasks, and the process's CPU time is divided by the requests (with each
request's p50/p99 wall time). Without uvicorn
and wrk on the same cores the figure moves far less with the box's load than ``api_bench.py``'s, so
it is the quick A/B for app-level changes: ``--variants`` runs each source tree (``PYTHONPATH``) in a
child process against the same servers, in alternation. HTTP parsing and the socket writes of the
response are not in it (``api_bench.py`` measures the whole).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from harness import ROOT, conjure_env, infrastructure, seed_users

Message = dict[str, Any]


async def call(app: Any, method: str, path: str, token: str, body: bytes = b"") -> tuple[int, bytes]:
    """One request through the ASGI app: (status, body)."""
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def child(args: argparse.Namespace) -> dict[str, Any]:
    """Run in one process: submits, then polls of the submitted jobs; CPU ms per request."""
    from conjure.app import create_app
    from conjure.settings import Settings

    users: list[tuple[str, str]] = json.loads(Path(args.users_file).read_text())
    app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]  # env from the parent
    salt = uuid.uuid4().hex[:8]
    counter = 0
    jobs: list[tuple[str, str]] = []
    statuses: dict[int, int] = {}
    took: list[float] = []  # each request's wall time, ms (the measured phase's requests only)
    async with app.router.lifespan_context(app):

        async def submits(n: int) -> None:
            nonlocal counter
            for _ in range(n):
                counter += 1
                _, token = users[counter % len(users)]
                body = json.dumps({"question": f"Will bench question {salt}-{counter} turn out well?"})
                started = time.perf_counter()
                status, out = await call(app, "POST", "/api/v1/tarot/read", token, body.encode())
                took.append(1000 * (time.perf_counter() - started))
                statuses[status] = statuses.get(status, 0) + 1
                if status == 202:
                    jobs.append((token, json.loads(out)["job_id"]))

        async def polls(n: int, offset: int) -> None:
            for i in range(n):
                token, job_id = jobs[(offset + i * 7) % len(jobs)]
                started = time.perf_counter()
                status, _ = await call(app, "GET", f"/api/v1/reading/{job_id}", token)
                took.append(1000 * (time.perf_counter() - started))
                statuses[status] = statuses.get(status, 0) + 1

        per_task = args.requests // args.concurrency
        await asyncio.gather(*(submits(50 // args.concurrency + 1) for _ in range(args.concurrency)))  # warm
        out: dict[str, Any] = {}
        for name, make in (("submit", lambda k: submits(per_task)), ("poll", lambda k: polls(per_task, k))):
            took.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(make(k) for k in range(args.concurrency)))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            n = per_task * args.concurrency
            took.sort()
            out[name] = {
                "cpu_ms_per_request": round(1000 * cpu / n, 3),
                "requests_per_s": round(n / wall),
                "p50_ms": round(took[len(took) // 2], 1),
                "p99_ms": round(took[int(len(took) * 0.99)], 1),
            }
        out["statuses"] = statuses
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--variants", default="current=src", help="label=src_dir,... run in alternation")
    parser.add_argument("--out", help="also write the results to bench/results/OUT")
    parser.add_argument("--profile", metavar="FILE", help="py-spy (raw collapsed stacks) on the children")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--users-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args))))
        return
    variants = dict(v.split("=", 1) for v in args.variants.split(","))
    results: dict[str, list[dict[str, Any]]] = {label: [] for label in variants}
    with infrastructure("api_inprocess") as infra:
        users = asyncio.run(seed_users(infra, args.users, stars=1_000_000, prefix="inproc"))
        users_file = Path(ROOT / "var" / f"bench-users-{os.getpid()}.json")
        users_file.parent.mkdir(exist_ok=True)
        users_file.write_text(json.dumps(users))
        for _ in range(args.rounds):
            for label, source in variants.items():
                env = conjure_env(infra, PYTHONPATH=str(Path(source).resolve()))
                cmd = [sys.executable, __file__, "--child", "--users-file", str(users_file)]
                cmd += ["--requests", str(args.requests), "--concurrency", str(args.concurrency)]
                if args.profile:
                    spy = str(Path(sys.executable).parent / "py-spy")
                    out = f"{args.profile}-{label}.collapsed"
                    cmd = [spy, "record", "--format", "raw", "-r", "500", "-o", out, "--", *cmd]
                run = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
                if run.returncode != 0:
                    raise RuntimeError(run.stderr[-3000:])
                result = json.loads(next(x for x in reversed(run.stdout.splitlines()) if x.startswith("{")))
                results[label].append(result)
                print(label, json.dumps(result), flush=True)
        users_file.unlink()
    print(json.dumps(results, indent=2))
    if args.out:
        method = {"requests": args.requests, "concurrency": args.concurrency, "users": args.users}
        report = {"load_average": os.getloadavg(), "method": method, "variants": results}
        (ROOT / "bench" / "results" / args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
