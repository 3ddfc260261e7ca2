"""API throughput and latency: submit a reading and poll one, with 1 and 2 API processes.

PostgreSQL + Redis on loopback, wrk with 2 threads and 64 connections, many distinct
users. The same run measures bare FastAPI handlers (one Redis XADD; one asyncpg row
read) and reports Conjure's figures as ratios against them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from harness import RESULTS, ROOT, Infra, conjure_api, conjure_env, free_port, infrastructure, process, summary, wrk

USERS = int(os.environ.get("BENCH_USERS", "2000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
LUA = Path(__file__).parent / "lua"


async def seed_users(infra: Infra, count: int) -> list[str]:
    """Users with plenty of stars (granted through the wallet, so the ledger stays true); their tokens."""
    from conjure.auth.tokens import issue_access_token
    from conjure.db import Database
    from conjure.settings import Settings
    from conjure.users.service import create_user
    from conjure.wallet.service import credit

    settings = Settings(_env_file=None, **{k.lower(): v for k, v in conjure_env(infra).items()  # type: ignore[arg-type]
                                           if k in ("DATABASE_URL", "JWT_SECRET", "ENVIRONMENT")})
    db = Database(settings.resolved_database_url)
    tokens = []
    for start in range(0, count, 250):
        async with db.session() as session:
            for i in range(start, min(start + 250, count)):
                user = await create_user(session, settings, email=f"bench{i}@example.com")
                await credit(session, user.id, amount=1_000_000, currency="star", tx_type="grant",
                             idempotency_key=f"bench-grant:{user.id}")
                tokens.append(issue_access_token(settings, user.id, ttl_seconds=3600))
    await db.dispose()
    return tokens


async def reading_pairs(infra: Infra, tokens_by_user: dict[str, str], limit: int = 2000) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(infra.database_url.replace("+asyncpg", ""))
    rows = await conn.fetch("SELECT id, user_id FROM jobs ORDER BY created_at DESC LIMIT $1", limit)
    await conn.close()
    return [f"{tokens_by_user[str(r['user_id'])]} {r['id']}" for r in rows]


def bare_baselines(infra: Infra) -> dict[str, dict[str, float]]:
    port = free_port()
    env = dict(os.environ, BENCH_REDIS_URL=infra.redis_url, BENCH_PG_DSN=infra.database_url.replace("+asyncpg", ""))
    cmd = [sys.executable, "-m", "uvicorn", "baseline_app:app", "--port", str(port), "--log-level", "warning",
           "--app-dir", str(Path(__file__).parent)]
    out: dict[str, dict[str, float]] = {}
    with process(cmd, env, ready_url=f"http://127.0.0.1:{port}/health"):
        for name, script in (("bare_xadd", "xadd.lua"), ("bare_row", "row.lua")):
            path = "/xadd" if name == "bare_xadd" else "/row/1"
            runs = [wrk(f"http://127.0.0.1:{port}{path}", script=LUA / script, seconds=SECONDS) for _ in range(RUNS)]
            out[name] = {"rps": summary([r.requests_per_second for r in runs])["median"],
                         "p99_ms": summary([r.p99_ms for r in runs])["median"]}
    return out


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with infrastructure() as infra:
        tokens = asyncio.run(seed_users(infra, USERS))
        from conjure.auth.tokens import decode_access_token
        from conjure.settings import Settings

        settings = Settings(_env_file=None, jwt_secret=conjure_env(infra)["JWT_SECRET"])  # type: ignore[call-arg]
        tokens_by_user = {str(decode_access_token(settings, t)): t for t in tokens}
        token_file = Path(tempfile.mkstemp(prefix="bench-tokens-")[1])
        token_file.write_text("\n".join(tokens) + "\n")
        results: dict[str, object] = {"users": USERS, "runs": RUNS, "seconds": SECONDS,
                                      "baselines": bare_baselines(infra)}
        for processes in (1, 2):
            base, ctx = conjure_api(infra, workers=processes)
            with ctx:  # type: ignore[attr-defined]
                env = dict(os.environ, BENCH_TOKENS=str(token_file))
                submits = [wrk(base, script=LUA / "submit.lua", seconds=SECONDS, env=env) for _ in range(RUNS)]
                pairs_file = Path(tempfile.mkstemp(prefix="bench-readings-")[1])
                pairs_file.write_text("\n".join(asyncio.run(reading_pairs(infra, tokens_by_user))) + "\n")
                env["BENCH_READINGS"] = str(pairs_file)
                polls = [wrk(base, script=LUA / "poll.lua", seconds=SECONDS, env=env) for _ in range(RUNS)]
            results[f"api_{processes}"] = {
                "submit_rps": summary([r.requests_per_second for r in submits]),
                "submit_p50_ms": summary([r.p50_ms for r in submits]),
                "submit_p99_ms": summary([r.p99_ms for r in submits]),
                "submit_non_2xx": sum(r.non_2xx for r in submits),
                "poll_rps": summary([r.requests_per_second for r in polls]),
                "poll_p50_ms": summary([r.p50_ms for r in polls]),
                "poll_p99_ms": summary([r.p99_ms for r in polls]),
                "poll_non_2xx": sum(r.non_2xx for r in polls),
            }
        base_x = results["baselines"]["bare_xadd"]["rps"]  # type: ignore[index]
        base_r = results["baselines"]["bare_row"]["rps"]  # type: ignore[index]
        for processes in (1, 2):
            r = results[f"api_{processes}"]
            r["submit_vs_bare_xadd"] = round(r["submit_rps"]["median"] / base_x, 2)  # type: ignore[index]
            r["poll_vs_bare_row"] = round(r["poll_rps"]["median"] / base_r, 2)  # type: ignore[index]
    (RESULTS / "api.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
