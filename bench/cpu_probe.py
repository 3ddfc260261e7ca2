"""CPU per request of the API hot paths: the steady A/B figure on a noisy machine.

    python bench/cpu_probe.py [--users 500] [--seconds 5] [--rounds 2]

Requests/s on a shared VM swing with CPU steal; the CPU a request costs does not. Under
wrk (2 threads, 64 connections) this reads ``/proc/<pid>/stat`` before and after each run
and reports milliseconds of CPU per request for the API process, for PostgreSQL (all its
processes) and for Redis, for submit and poll, next to the bare handlers of
``baseline_app.py`` measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import uuid
from pathlib import Path

from api_bench import LUA, baseline_server, reading_pairs
from harness import ROOT, children, conjure_api, conjure_env, infrastructure, seed_users, wrk

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICK


def pids_named(word: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if word in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def probe(url: str, script: Path, seconds: int, env: dict[str, str], api: list[int]) -> dict[str, float]:
    groups = {"api": api, "postgres": pids_named("postgres"), "redis": pids_named("redis-server")}
    before = {name: cpu_seconds(pids) for name, pids in groups.items()}
    result = wrk(url, script=script, seconds=seconds, env=env)
    requests = result.requests_per_second * seconds
    out = {"rps": round(result.requests_per_second), "p99_ms": result.p99_ms, "non_2xx": result.non_2xx}
    for name, pids in groups.items():
        out[f"{name}_cpu_ms"] = round(1000 * (cpu_seconds(pids) - before[name]) / max(requests, 1), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from conjure.auth.tokens import decode_access_token
    from conjure.settings import Settings

    with infrastructure("cpu_probe") as infra:
        tokens = [t for _, t in asyncio.run(seed_users(infra, args.users, stars=1_000_000, prefix="probe"))]
        settings = Settings(_env_file=None, jwt_secret=conjure_env(infra)["JWT_SECRET"])  # type: ignore[call-arg]
        by_user = {str(decode_access_token(settings, t)): t for t in tokens}
        token_file = Path(tempfile.mkstemp(prefix="probe-tokens-")[1])
        token_file.write_text("\n".join(tokens) + "\n")
        bare, bare_ctx = baseline_server(infra)
        base, ctx = conjure_api(infra, workers=1)
        with bare_ctx as bare_proc, ctx as proc:
            api = children(proc.pid) or [proc.pid]
            env = dict(os.environ, BENCH_TOKENS=str(token_file), BENCH_SALT=uuid.uuid4().hex[:8])
            wrk(base, script=LUA / "submit.lua", seconds=2, env=env)
            pairs = Path(tempfile.mkstemp(prefix="probe-readings-")[1])
            pairs.write_text("\n".join(asyncio.run(reading_pairs(infra, by_user))) + "\n")
            env["BENCH_READINGS"] = str(pairs)
            for _ in range(args.rounds):
                env["BENCH_SALT"] = uuid.uuid4().hex[:8]
                rows = {
                    "bare_xadd": probe(f"{bare}/xadd", LUA / "xadd.lua", args.seconds, env, [bare_proc.pid]),
                    "submit": probe(base, LUA / "submit.lua", args.seconds, env, api),
                    "bare_row": probe(f"{bare}/row/1", LUA / "row.lua", args.seconds, env, [bare_proc.pid]),
                    "poll": probe(base, LUA / "poll.lua", args.seconds, env, api),
                }
                for name, row in rows.items():
                    print(f"{name:10} {json.dumps(row)}", flush=True)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
