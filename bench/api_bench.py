"""API throughput and latency: submit a reading and poll one, with 1 and 2 API processes.

    python bench/api_bench.py [--users 2000] [--runs 3] [--seconds 10] [--processes 1,2]
    python bench/api_bench.py --profile before      # py-spy on one API process under wrk
    python bench/api_bench.py --variants before=/tmp/old/src,after=src   # A/B in alternation

PostgreSQL + Redis on loopback, wrk with 2 threads and 64 connections, many distinct
users. Bare FastAPI handlers (one Redis XADD; one asyncpg row read) run beside Conjure
and each wrk run on Conjure is paired with one on the bare handler right before it, so
the ratios survive a noisy machine. Writes ``bench/results/api.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from harness import (
    RESULTS,
    ROOT,
    Infra,
    WrkResult,
    children,
    conjure_api,
    conjure_env,
    free_port,
    hot_frames,
    infrastructure,
    process,
    py_spy,
    seed_users,
    self_by_package,
    summary,
    wrk,
)

LUA = Path(__file__).parent / "lua"


async def reading_pairs(infra: Infra, tokens_by_user: dict[str, str], limit: int = 5000) -> list[str]:
    """``<token> <job id>`` lines for the poll script: recent readings of the seeded users."""
    import asyncpg

    conn = await asyncpg.connect(infra.database_url.replace("+asyncpg", ""))
    rows = await conn.fetch("SELECT id, user_id FROM jobs ORDER BY created_at DESC LIMIT $1", limit)
    await conn.close()
    return [f"{tokens_by_user[str(r['user_id'])]} {r['id']}" for r in rows]


def baseline_server(infra: Infra) -> tuple[str, Any]:
    """The bare FastAPI handlers (bench/baseline_app.py) in one uvicorn process."""
    port = free_port()
    env = dict(
        os.environ,
        BENCH_REDIS_URL=infra.redis_url,
        BENCH_PG_DSN=infra.database_url.replace("+asyncpg", ""),
    )
    cmd = [
        sys.executable, "-m", "uvicorn", "baseline_app:app", "--port", str(port),
        "--log-level", "warning", "--no-access-log", "--app-dir", str(Path(__file__).parent),
    ]  # fmt: skip
    return f"http://127.0.0.1:{port}", process(cmd, env, ready_url=f"http://127.0.0.1:{port}/health")


def _stats(runs: list[WrkResult]) -> dict[str, Any]:
    return {
        "rps": summary([r.requests_per_second for r in runs]),
        "p50_ms": summary([r.p50_ms for r in runs]),
        "p99_ms": summary([r.p99_ms for r in runs]),
        # To the microsecond: the harness's one decimal hides a submit's 0.6 -> 0.45 ms.
        "cpu_ms_per_request": {
            name: round(value, 3)
            for name, value in _spread([r.cpu_ms_per_request or 0.0 for r in runs]).items()
        },
        "non_2xx": sum(r.non_2xx for r in runs),
        "socket_errors": sum(r.errors for r in runs),
    }


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def measure(
    args: argparse.Namespace, infra: Infra, tokens: list[str], bare: str, bare_pid: int
) -> dict[str, Any]:
    """For each API process count: paired (bare, Conjure) wrk runs of submit and poll."""
    from conjure.auth.tokens import decode_access_token
    from conjure.settings import Settings

    settings = Settings(_env_file=None, jwt_secret=conjure_env(infra)["JWT_SECRET"])  # type: ignore[call-arg]
    tokens_by_user = {str(decode_access_token(settings, t)): t for t in tokens}
    token_file = Path(tempfile.mkstemp(prefix="bench-tokens-")[1])
    token_file.write_text("\n".join(tokens) + "\n")
    out: dict[str, Any] = {}
    for processes in args.processes:
        base, ctx = conjure_api(infra, workers=processes)
        with ctx as proc:
            pids = [proc.pid, *children(proc.pid)]
            env = dict(os.environ, BENCH_TOKENS=str(token_file), BENCH_SALT=uuid.uuid4().hex[:8])
            wrk(base, script=LUA / "submit.lua", seconds=2, env=env)  # warm-up (and readings to poll)
            pairs_file = Path(tempfile.mkstemp(prefix="bench-readings-")[1])
            pairs_file.write_text("\n".join(asyncio.run(reading_pairs(infra, tokens_by_user))) + "\n")
            env["BENCH_READINGS"] = str(pairs_file)
            wrk(base, script=LUA / "poll.lua", seconds=2, env=env)
            rows: dict[str, list[WrkResult]] = {"bare_xadd": [], "submit": [], "bare_row": [], "poll": []}
            for _ in range(args.runs):
                env["BENCH_SALT"] = uuid.uuid4().hex[:8]  # distinct questions every run: no dedupe hits
                for name, url, script, run_env, server in (
                    ("bare_xadd", f"{bare}/xadd", "xadd.lua", None, [bare_pid]),
                    ("submit", base, "submit.lua", env, pids),
                    ("bare_row", f"{bare}/row/1", "row.lua", None, [bare_pid]),
                    ("poll", base, "poll.lua", env, pids),
                ):
                    rows[name].append(
                        wrk(url, script=LUA / script, seconds=args.seconds, env=run_env, server_pids=server)
                    )
        result = {name: _stats(runs) for name, runs in rows.items()}
        result["submit_vs_bare_xadd"] = _ratio(rows["submit"], rows["bare_xadd"])
        result["poll_vs_bare_row"] = _ratio(rows["poll"], rows["bare_row"])
        out[f"api_processes_{processes}"] = result
        print(json.dumps({f"api_processes_{processes}": result}), flush=True)
    return out


def measure_variants(
    args: argparse.Namespace, infra: Infra, tokens: list[str], bare: str, bare_pid: int
) -> dict[str, Any]:
    """One API process per source tree (``--variants label=src,...``, run with ``PYTHONPATH``), all
    up at once and measured in alternation: each run, per variant, the bare handler then Conjure,
    so before and after share the box's load minute by minute (the figures to compare are the
    CPU per request and the ratios, not requests/s across runs)."""
    from conjure.auth.tokens import decode_access_token
    from conjure.settings import Settings

    settings = Settings(_env_file=None, jwt_secret=conjure_env(infra)["JWT_SECRET"])  # type: ignore[call-arg]
    tokens_by_user = {str(decode_access_token(settings, t)): t for t in tokens}
    token_file = Path(tempfile.mkstemp(prefix="bench-tokens-")[1])
    token_file.write_text("\n".join(tokens) + "\n")
    with ExitStack() as stack:
        servers: dict[str, tuple[str, list[int]]] = {}
        for label, source in args.variants.items():
            base, ctx = conjure_api(infra, workers=1, PYTHONPATH=str(Path(source).resolve()))
            proc = stack.enter_context(ctx)
            servers[label] = (base, [proc.pid, *children(proc.pid)])
        env = dict(os.environ, BENCH_TOKENS=str(token_file), BENCH_SALT=uuid.uuid4().hex[:8])
        for base, _ in servers.values():
            wrk(base, script=LUA / "submit.lua", seconds=2, env=env)
        pairs_file = Path(tempfile.mkstemp(prefix="bench-readings-")[1])
        pairs_file.write_text("\n".join(asyncio.run(reading_pairs(infra, tokens_by_user))) + "\n")
        env["BENCH_READINGS"] = str(pairs_file)
        for base, _ in servers.values():
            wrk(base, script=LUA / "poll.lua", seconds=2, env=env)
        rows = {label: {"bare_xadd": [], "submit": [], "bare_row": [], "poll": []} for label in servers}
        for _ in range(args.runs):
            for label, (base, pids) in servers.items():
                env["BENCH_SALT"] = uuid.uuid4().hex[:8]
                rows[label]["bare_xadd"].append(
                    wrk(f"{bare}/xadd", script=LUA / "xadd.lua", seconds=args.seconds, server_pids=[bare_pid])
                )
                rows[label]["submit"].append(
                    wrk(base, script=LUA / "submit.lua", seconds=args.seconds, env=env, server_pids=pids)
                )
            for label, (base, pids) in servers.items():
                rows[label]["bare_row"].append(
                    wrk(f"{bare}/row/1", script=LUA / "row.lua", seconds=args.seconds, server_pids=[bare_pid])
                )
                rows[label]["poll"].append(
                    wrk(base, script=LUA / "poll.lua", seconds=args.seconds, env=env, server_pids=pids)
                )
    out: dict[str, Any] = {}
    for label, runs in rows.items():
        result: dict[str, Any] = {name: _stats(r) for name, r in runs.items()}
        result["per_run_cpu_ms"] = {name: [r.cpu_ms_per_request for r in rs] for name, rs in runs.items()}
        result["submit_vs_bare_xadd"] = _ratio(runs["submit"], runs["bare_xadd"])
        result["poll_vs_bare_row"] = _ratio(runs["poll"], runs["bare_row"])
        out[label] = result
        print(json.dumps({label: result}), flush=True)
    return {"variants": out}


def _ratio(ours: list[WrkResult], bare: list[WrkResult]) -> dict[str, float]:
    """Per-pair ratios of requests/s (each Conjure run against the bare run just before it)."""
    ratios = [o.requests_per_second / b.requests_per_second for o, b in zip(ours, bare, strict=True)]
    return {
        "median": round(statistics.median(ratios), 2),
        "min": round(min(ratios), 2),
        "max": round(max(ratios), 2),
    }


def profile(args: argparse.Namespace, infra: Infra, tokens: list[str]) -> dict[str, Any]:
    """py-spy on one API process while wrk submits, then while it polls; hottest frames to a file."""
    from conjure.auth.tokens import decode_access_token
    from conjure.settings import Settings

    settings = Settings(_env_file=None, jwt_secret=conjure_env(infra)["JWT_SECRET"])  # type: ignore[call-arg]
    tokens_by_user = {str(decode_access_token(settings, t)): t for t in tokens}
    token_file = Path(tempfile.mkstemp(prefix="bench-tokens-")[1])
    token_file.write_text("\n".join(tokens) + "\n")
    base, ctx = conjure_api(infra, workers=1)
    report: dict[str, Any] = {}
    with ctx as proc:
        pid = (children(proc.pid) or [proc.pid])[0]
        env = dict(os.environ, BENCH_TOKENS=str(token_file), BENCH_SALT=uuid.uuid4().hex[:8])
        wrk(base, script=LUA / "submit.lua", seconds=2, env=env)
        pairs_file = Path(tempfile.mkstemp(prefix="bench-readings-")[1])
        pairs_file.write_text("\n".join(asyncio.run(reading_pairs(infra, tokens_by_user))) + "\n")
        env["BENCH_READINGS"] = str(pairs_file)
        # A fresh salt: the warm-up's jobs stay queued (no worker runs), so repeating its
        # questions would make every profiled submit a dedupe hit, a different code path.
        env["BENCH_SALT"] = uuid.uuid4().hex[:8]
        for name, script in (("submit", "submit.lua"), ("poll", "poll.lua")):
            raw = RESULTS / f"profile-{args.profile}-{name}.collapsed"
            with py_spy(pid, raw, args.seconds):
                result = wrk(base, script=LUA / script, seconds=args.seconds, env=env)
            lines = [f"{name}: {result.requests_per_second:.0f} req/s, p99 {result.p99_ms} ms (under py-spy)"]
            lines.append("CPU samples by the package of the innermost frame:")
            lines += [f"{share:5.1f}%  {name}" for name, share in self_by_package(raw)[:15]]
            lines.append("Hottest frames (inclusive %, self %):")
            lines += [f"{inc:5.1f}% {own:5.1f}%  {frame}" for frame, inc, own in hot_frames(raw, top=60)]
            (RESULTS / f"profile-{args.profile}-{name}.txt").write_text("\n".join(lines) + "\n")
            report[name] = {"rps": result.requests_per_second, "p99_ms": result.p99_ms}
            print("\n".join(lines[:45]), flush=True)
    return report


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    pg = subprocess.run(
        ["bash", "-c", "ls /usr/lib/postgresql"], capture_output=True, text=True
    ).stdout.split()
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": pg[-1] if pg else "?",
        "redis": next((w.split("=")[1] for w in redis if w.startswith("v=")), "?"),
        "wrk": (wrk_v.stdout + wrk_v.stderr).split()[1] if (wrk_v.stdout + wrk_v.stderr) else "?",
        "load_average_at_start": os.getloadavg(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--processes", default="1,2", help="API process counts, comma separated")
    parser.add_argument("--profile", metavar="LABEL", help="profile one API process instead of measuring")
    parser.add_argument("--out", default="api.json", help="results file name under bench/results/")
    parser.add_argument(
        "--variants", help="label=src_dir,... : one API process per source tree, measured in alternation"
    )
    args = parser.parse_args()
    args.processes = [int(p) for p in args.processes.split(",")]
    args.variants = dict(v.split("=", 1) for v in args.variants.split(",")) if args.variants else None
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with infrastructure("api_bench") as infra:
        tokens = [
            token for _, token in asyncio.run(seed_users(infra, args.users, stars=1_000_000, prefix="bench"))
        ]
        if args.profile:
            profile(args, infra, tokens)
            return
        results: dict[str, Any] = {
            "machine": machine(),
            "method": {
                "users": args.users,
                "runs": args.runs,
                "seconds_per_run": args.seconds,
                "wrk": "2 threads, 64 connections, loopback",
            },
        }
        bare, ctx = baseline_server(infra)
        with ctx as bare_proc:
            if args.variants:
                results.update(measure_variants(args, infra, tokens, bare, bare_proc.pid))
            else:
                results.update(measure(args, infra, tokens, bare, bare_proc.pid))
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    (RESULTS / args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
